"""A `queue` object kind for Scoot (`kind.Queue`), and the driver that serves it (`driver`)."""
