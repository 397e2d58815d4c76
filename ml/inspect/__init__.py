"""Look inside a model: layer outputs, filters and evidence (Grad-CAM, Integrated Gradients), numpy out."""
