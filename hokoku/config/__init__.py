"""Configuration: settings from the environment and the organisation, policy and playbook files."""
