"""``pusher demo``: a demo town, sample items through review, the pipeline, a summary."""
