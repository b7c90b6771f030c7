"""Settings: config.yaml read and checked, secrets from environment variables."""
