// Fixture stand-in for the sync tool the job runs.
