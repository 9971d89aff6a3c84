"""A command-line uploader: files to the app's S3 bucket over its HTTP API (no Django imported).

Run `python -m uploads.cli upload FILE... --server URL --token TOKEN`; see `command.py`.
"""
