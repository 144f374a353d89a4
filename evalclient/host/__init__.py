"""The host the suite runs on: preflight and doctor checks, engine images, and the base, suite and simulator
image builders."""
