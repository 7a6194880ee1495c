from texturecmp.records._record import *  # noqa
