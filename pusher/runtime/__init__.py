"""Runtime: the resources a process opens, the job queue, the jobs and the arq worker."""
