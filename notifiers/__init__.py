"""Notification channels: one protocol (``notifiers.base.Notifier``), one module per channel."""
