"""Notification channels: one protocol (``hokoku.notifiers.base.Notifier``), one module per channel."""
