"""How closely a computed value must match its NumPy reference.

The tolerance depends on ``pytensor.config.floatX``: in float32 a few
chained products and sums already lose three or four of the seven
significant digits, in float64 the same graphs agree to ten or more.
"""
from collections import namedtuple

import pytensor

Tolerance = namedtuple('Tolerance', ['rtol', 'atol'])

TOLERANCES = {'float32': Tolerance(rtol=1e-4, atol=1e-3),
              'float64': Tolerance(rtol=1e-10, atol=1e-7)}

#: The tolerance for the configured floatX.
TOLERANCE = TOLERANCES[pytensor.config.floatX]
