"""Uploaded images: recognising, cleaning and storing them on disk.

Everything here blocks (Pillow, the disk) and runs on the media thread pool of
`handlers.media`, never on the reactor thread.
"""
