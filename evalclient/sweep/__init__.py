"""One sweep's life: the runner over the deployments, one deployment's life, one combination, repeats, the
run's types, its terminal view and its log files."""
