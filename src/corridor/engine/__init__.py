"""The simulation engine: agent arrays, random streams, the network and the step loop."""
