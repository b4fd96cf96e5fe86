"""What every algorithm and program runs on, below all of them: the process and its place in a torchrun
job (process.py), the one training loop (loop.py), YAML settings files and the user-error type (config.py,
errors.py). Nothing here imports an algorithm or a program."""
