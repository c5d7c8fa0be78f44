"""The on-disk dataset format: folder layout, index files, per-patch records, patch files, the torch Dataset,
and re-encoding (repack). Used by ``satclip sample`` (writes), ``satclip train`` (reads) and ``satclip repack``."""
