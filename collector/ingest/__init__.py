"""From a received body to a commit: decoding, validation, rate limits and the Ingestor."""
