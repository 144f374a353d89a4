"""The host the suite runs on: preflight and doctor checks, the model cache, engine images, and the
suite's and the simulator's image builders."""
