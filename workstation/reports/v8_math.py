"""``Math.log`` and ``Math.pow`` as V8 (node) computes them, bit for bit, for the statistics of backtest-kit 19.5.

The peer's trend regression takes ``Math.log`` of exit prices and its expected yearly returns ``Math.pow`` of the
compounded equity (SPEC-statistics §1.5). V8 computes neither with the C library: ``log`` is fdlibm's
``__ieee754_log`` (FreeBSD ``e_log.c``) and ``pow`` is fdlibm's ``e_pow.c`` with V8's change to its last step (it
divides by the whole correction). Python's ``math.log`` and ``math.pow`` (glibc) differ from them by an ulp for a few
percent of arguments, which shows in the last bits of ``trend_strength``, ``trend_confidence`` and
``expected_yearly_returns``. These are plain translations of the two C functions, word for word on the IEEE-754 bits.
"""

from __future__ import annotations

import math
import struct

__all__ = ["v8_log", "v8_pow"]

_PACK = struct.Struct("<d")
_WORDS = struct.Struct("<II")


def _words(x: float) -> tuple[int, int]:
    """Return the high word (sign, exponent, top of the mantissa) as a signed 32-bit int, and the low word."""
    low, high = _WORDS.unpack(_PACK.pack(x))
    return (high ^ 0x80000000) - 0x80000000, low


def _from_words(high: int, low: int) -> float:
    return float(_PACK.unpack(_WORDS.pack(low & 0xFFFFFFFF, high & 0xFFFFFFFF))[0])


def _with_high(x: float, high: int) -> float:
    return _from_words(high, _words(x)[1])


def _without_low(x: float) -> float:
    return _from_words(_words(x)[0], 0)


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_TWO54 = 1.80143985094819840000e16
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


def v8_log(x: float) -> float:
    """Return ``Math.log(x)`` as V8 computes it (fdlibm ``__ieee754_log``).

    ``log(±0)`` is ``-inf``, ``log`` of a negative number or NaN is NaN and ``log(inf)`` is ``inf``, as in JS.
    """
    hx, lx = _words(x)
    k = 0
    if hx < 0x00100000:  # x < 2**-1022: zero, negative or subnormal
        if ((hx & 0x7FFFFFFF) | lx) == 0:
            return -math.inf
        if hx < 0:
            return math.nan
        k -= 54
        x *= _TWO54
        hx = _words(x)[0]
    if hx >= 0x7FF00000:
        return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    x = _with_high(x, hx | (i ^ 0x3FF00000))  # normalise x or x/2
    k += i >> 20
    f = x - 1.0
    if (0x000FFFFF & (2 + hx)) < 3:  # -2**-20 <= f < 2**-20
        if f == 0.0:
            if k == 0:
                return 0.0
            dk = float(k)
            return dk * _LN2_HI + dk * _LN2_LO
        r = f * f * (0.5 - 0.33333333333333333 * f)
        if k == 0:
            return f - r
        dk = float(k)
        return dk * _LN2_HI - ((r - dk * _LN2_LO) - f)
    s = f / (2.0 + f)
    dk = float(k)
    z = s * s
    i = hx - 0x6147A
    w = z * z
    j = 0x6B851 - hx
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    i |= j
    r = t2 + t1
    if i > 0:
        hfsq = 0.5 * f * f
        if k == 0:
            return f - (hfsq - s * (hfsq + r))
        return dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    if k == 0:
        return f - s * (f - r)
    return dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f)


_BP = (1.0, 1.5)
_DP_H = (0.0, 5.84962487220764160156e-01)
_DP_L = (0.0, 1.35003920212974897128e-08)
_TWO53 = 9007199254740992.0
_HUGE = 1.0e300
_TINY = 1.0e-300
_L1 = 5.99999999999994648725e-01
_L2 = 4.28571428578550184252e-01
_L3 = 3.33333329818377432918e-01
_L4 = 2.72728123808534006489e-01
_L5 = 2.30660745775561754067e-01
_L6 = 2.06975017800338417784e-01
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_LG2_FULL = 6.93147180559945286227e-01
_LG2_H = 6.93147182464599609375e-01
_LG2_L = -1.90465429995776804525e-09
_OVT = 8.0085662595372944372e-17
_CP = 9.61796693925975554329e-01
_CP_H = 9.61796700954437255859e-01
_CP_L = -7.02846165095275826516e-09
_IVLN2 = 1.44269504088896338700e00
_IVLN2_H = 1.44269502162933349609e00
_IVLN2_L = 1.92596299112661746887e-08


def _overflow(sign: float) -> float:
    return sign * math.inf


def _underflow(sign: float) -> float:
    return sign * 0.0


def v8_pow(x: float, y: float) -> float:
    """Return ``Math.pow(x, y)`` as V8 computes it (``base::ieee754::legacy::pow``).

    That is fdlibm's ``e_pow.c`` whose last step divides ``z*t1`` by ``(t1 - 2) - (w + z*w)`` where fdlibm divides
    by ``t1 - 2`` and then subtracts ``w + z*w``. The special cases follow JS: ``pow(x, 0)`` is 1, a NaN gives NaN,
    ``pow(±1, ±inf)`` is NaN.
    """
    hx, lx = _words(x)
    hy, ly = _words(y)
    ix = hx & 0x7FFFFFFF
    iy = hy & 0x7FFFFFFF
    if (iy | ly) == 0:
        return 1.0
    if ix > 0x7FF00000 or (ix == 0x7FF00000 and lx != 0) or iy > 0x7FF00000 or (iy == 0x7FF00000 and ly != 0):
        return x + y
    # Whether y is an odd (1) or even (2) integer, when x < 0.
    yisint = 0
    if hx < 0:
        if iy >= 0x43400000:
            yisint = 2
        elif iy >= 0x3FF00000:
            k = (iy >> 20) - 0x3FF
            if k > 20:
                j = ly >> (52 - k)
                if (j << (52 - k)) == ly:
                    yisint = 2 - (j & 1)
            elif ly == 0:
                j = iy >> (20 - k)
                if (j << (20 - k)) == iy:
                    yisint = 2 - (j & 1)
    if ly == 0:
        if iy == 0x7FF00000:  # y is ±inf
            if ((ix - 0x3FF00000) | lx) == 0:
                return math.nan
            if ix >= 0x3FF00000:
                return y if hy >= 0 else 0.0
            return -y if hy < 0 else 0.0
        if iy == 0x3FF00000:  # y is ±1
            if hy >= 0:
                return x
            return 1.0 / x if x != 0.0 else math.copysign(math.inf, x)
        if hy == 0x40000000:  # y is 2
            return x * x
        if hy == 0x3FE00000 and hx >= 0:  # y is 0.5
            return math.sqrt(x)
    ax = abs(x)
    if lx == 0 and ix in (0x7FF00000, 0, 0x3FF00000):  # x is ±0, ±inf, ±1
        z = ax
        if hy < 0:
            z = 1.0 / z if z != 0.0 else math.inf
        if hx < 0:
            if ((ix - 0x3FF00000) | yisint) == 0:
                z = math.nan
            elif yisint == 1:
                z = -z
        return z
    n = (hx >> 31) + 1
    if (n | yisint) == 0:  # (x < 0) ** non-integer
        return math.nan
    s = 1.0
    if (n | (yisint - 1)) == 0:
        s = -1.0
    if iy > 0x41E00000:  # |y| > 2**31
        if iy > 0x43F00000:  # |y| > 2**64: overflow or underflow
            if ix <= 0x3FEFFFFF:
                return _overflow(1.0) if hy < 0 else _underflow(1.0)
            if ix >= 0x3FF00000:
                return _overflow(1.0) if hy > 0 else _underflow(1.0)
        if ix < 0x3FEFFFFF:
            return _overflow(s) if hy < 0 else _underflow(s)
        if ix > 0x3FF00000:
            return _overflow(s) if hy > 0 else _underflow(s)
        t = ax - 1.0
        w = (t * t) * (0.5 - t * (0.3333333333333333333333 - t * 0.25))
        u = _IVLN2_H * t
        v = t * _IVLN2_L - w * _IVLN2
        t1 = _without_low(u + v)
        t2 = v - (t1 - u)
    else:
        n = 0
        if ix < 0x00100000:  # subnormal x
            ax *= _TWO53
            n -= 53
            ix = _words(ax)[0]
        n += (ix >> 20) - 0x3FF
        j = ix & 0x000FFFFF
        ix = j | 0x3FF00000
        if j <= 0x3988E:
            k = 0
        elif j < 0xBB67A:
            k = 1
        else:
            k = 0
            n += 1
            ix -= 0x00100000
        ax = _with_high(ax, ix)
        u = ax - _BP[k]
        v = 1.0 / (ax + _BP[k])
        ss = u * v
        s_h = _without_low(ss)
        t_h = _from_words(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18), 0)
        t_l = ax - (t_h - _BP[k])
        s_l = v * ((u - s_h * t_h) - s_h * t_l)
        s2 = ss * ss
        r = s2 * s2 * (_L1 + s2 * (_L2 + s2 * (_L3 + s2 * (_L4 + s2 * (_L5 + s2 * _L6)))))
        r += s_l * (s_h + ss)
        s2 = s_h * s_h
        t_h = _without_low(3.0 + s2 + r)
        t_l = r - ((t_h - 3.0) - s2)
        u = s_h * t_h
        v = s_l * t_h + t_l * ss
        p_h = _without_low(u + v)
        p_l = v - (p_h - u)
        z_h = _CP_H * p_h
        z_l = _CP_L * p_h + p_l * _CP + _DP_L[k]
        t = float(n)
        t1 = _without_low(((z_h + z_l) + _DP_H[k]) + t)
        t2 = z_l - (((t1 - t) - _DP_H[k]) - z_h)
    y1 = _without_low(y)
    p_l = (y - y1) * t1 + y * t2
    p_h = y1 * t1
    z = p_l + p_h
    j, i = _words(z)
    if j >= 0x40900000:  # z >= 1024
        if ((j - 0x40900000) | i) != 0 or p_l + _OVT > z - p_h:
            return _overflow(s)
    elif (j & 0x7FFFFFFF) >= 0x4090CC00 and (((j - 0xC090CC00) & 0xFFFFFFFF) | i != 0 or p_l <= z - p_h):
        return _underflow(s)  # z <= -1075
    i = j & 0x7FFFFFFF
    k = (i >> 20) - 0x3FF
    n = 0
    if i > 0x3FE00000:  # |z| > 0.5: n = [z + 0.5]
        n = j + (0x00100000 >> (k + 1))
        k = ((n & 0x7FFFFFFF) >> 20) - 0x3FF
        t = _from_words(n & ~(0x000FFFFF >> k), 0)
        n = ((n & 0x000FFFFF) | 0x00100000) >> (20 - k)
        if j < 0:
            n = -n
        p_h -= t
    t = _without_low(p_l + p_h)
    u = t * _LG2_H
    v = (p_l - (t - p_h)) * _LG2_FULL + t * _LG2_L
    z = u + v
    w = v - (z - u)
    t = z * z
    t1 = z - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    r = (z * t1) / ((t1 - 2.0) - (w + z * w))
    z = 1.0 - (r - z)
    j = _words(z)[0] + (n << 20)
    # A subnormal result is scaled; otherwise n is added to the exponent.
    return s * (math.ldexp(z, n) if (j >> 20) <= 0 else _with_high(z, j))
