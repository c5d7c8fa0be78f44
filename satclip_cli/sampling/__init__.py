"""Building blocks of ``satclip sample``: area-uniform random locations and the imagery fetched at them.

Coordinates are (lon, lat) in degrees (EPSG:4326), in that order.
"""
