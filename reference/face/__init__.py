"""The face core: engines that turn images into embeddings, templates stored in sqlite-vec,
1:1 verification against a calibrated operating point."""
