"""Look inside a model: each layer's output, the filters and the evidence for the user's own digit."""
