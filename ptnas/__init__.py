"""ptnas: differentiable NAS with perturbation-based operation selection."""
__version__ = "0.1.0"
