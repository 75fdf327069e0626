"""The bundled demo theater and `ceasewatch demo`, the one command that shows it all."""

from ceasewatch.demo.run import DemoResult, demo_theater_dir, run_demo

__all__ = ["DemoResult", "demo_theater_dir", "run_demo"]
