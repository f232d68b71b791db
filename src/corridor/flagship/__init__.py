"""The flagship UK – Western Balkans – Channel model."""
