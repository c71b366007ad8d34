"""heyrender: personalized HeyGen avatar videos from a manifest and a CSV."""

__version__ = "0.1.0"
