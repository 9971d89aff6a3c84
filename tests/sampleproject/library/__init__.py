"""The team's own app: courses and lessons, each lesson with a video and a thumbnail."""
