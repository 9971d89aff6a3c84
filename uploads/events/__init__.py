"""Storage events: S3 event notifications, delivered directly or through AWS SNS."""
