"""Signals other apps listen to, and the app's own receivers.

`media_uploaded(sender=MediaFile, media_file=..., via=...)` is sent once per record, after the
transition to `uploaded` has committed, whichever path completed it (`via` is "api", "event",
"reconcile", "expire" or "admin"). A receiver can start work on the verified object at
`media_file.key`. A crash between the commit and the send loses the signal: consumers that must not
miss a file also look for uploaded records they have not processed (for example by `uploaded_at`).

`media_analyzed(sender=MediaFile, media_file=..., reanalysis=...)` is sent once per analysis run
that saved its result, after the metadata and the poster or thumbnail are stored (`reanalysis` is
True for runs `reanalyze_uploads` asked for). `media_file.analysis_status` says `done` or `failed`.
"""

from django.dispatch import Signal

media_uploaded = Signal()

media_analyzed = Signal()
