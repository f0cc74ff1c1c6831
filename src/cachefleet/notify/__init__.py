"""Delivering event notifications: the worker that takes due notifications from the store and
hands them to a topic's webhooks or to an SNS-compatible endpoint, with retries and backoff.
Reaches only the model, the store and the settings."""
