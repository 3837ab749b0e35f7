"""The twistd dropin: `twistd socialhub` builds its service from socialhub.tap."""

from twisted.application.service import ServiceMaker

socialhub = ServiceMaker(
    "socialhub", "socialhub.tap", "A real-time social network server", "socialhub"
)
