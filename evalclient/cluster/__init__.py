"""The sweep on a Ray cluster (`--backend ray`): the driver (`ray_runner.RayNodes`, the runner's backend)
places deployments and alone writes the results tree; each node (`node`) runs its deployment and streams files
(`tree_sync`) and messages (`forwarding`) back. Ray is imported only when this backend is used
(`pip install 'evalclient[ray]'`)."""
