"""Paths or `s3://bucket/prefix` URLs for the source, the releases and the work area.

The pipeline works on local folders; this package translates: an S3 source is mirrored into a
local cache (only changed objects fetched), a release is cut locally and then uploaded with a
completion marker written last, and an S3 work area is a local working copy synced down when a
run starts and up when it ends. Any S3-compatible store is configured by the standard AWS
variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`,
`AWS_ENDPOINT_URL`).
"""
