"""Deployments: where a model is served (a container, a local process, an endpoint) and how it is watched."""
