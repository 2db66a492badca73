"""What a run makes on the target and keeps track of: the provisioner and its ledger, the
shared pool of tasks, the delete scenario, the watch over the run's tasks, cleanup."""
