"""The FastAPI entrypoint: TaskManager, ManagedBackgroundTasks, TaskAdmin and the lifespan."""
