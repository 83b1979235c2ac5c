"""The course as a static website: every lesson with its outputs (``make site``)."""
