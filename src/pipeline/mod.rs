//! Pipelines: sequences of steps with typed undo records back to the input grid.
