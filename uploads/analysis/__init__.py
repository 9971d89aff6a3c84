"""What an uploaded file is: its metadata, a poster or thumbnail, worked out in a background task.

`reasons` names every way analysis can fail; `proxy` is the only door ffmpeg has to the bucket;
`ffmpeg` probes video and audio and draws posters; `images` reads and shrinks images; `run`
drives one record's analysis; `state` owns the record's analysis status and its lease.
"""
