#!/usr/bin/env python3
"""Issue HuddleUp's Jitsi Meet tokens from Python through libhuddleup-token.

The library is loaded with ctypes, so no compiled extension is needed: a
backend calls the same C code as the huddleup-token command.

As a command, it prints one participant's join URL:

    HU_JITSI_HOST=https://meet.example.com HU_JITSI_JWT_APP_ID=huddleup \\
    HU_JITSI_JWT_SECRET=... python3 issue_ctypes.py --room standup --name Ada

As a module:

    issuer = HmacIssuer(load_library(), app_id, secret)
    token = issuer.issue(room="standup", name="Ada", moderator=True)
    url = join_url(issuer.library, "https://meet.example.com", "standup", token)
"""

import argparse
import ctypes
import ctypes.util
import os
import sys
import time

DETAIL_SIZE = 160  # HU_DETAIL_SIZE in huddleup/token.h
HU_OK = 0


class TokenRequest(ctypes.Structure):
    """hu_token_request of huddleup/token.h, field for field."""

    _fields_ = [
        ("room", ctypes.c_char_p),
        ("sub", ctypes.c_char_p),
        ("name", ctypes.c_char_p),
        ("email", ctypes.c_char_p),
        ("id", ctypes.c_char_p),
        ("avatar", ctypes.c_char_p),
        ("group", ctypes.c_char_p),
        ("moderator", ctypes.c_int),
        ("ttl", ctypes.c_long),
    ]


class TokenError(Exception):
    """A failed library call, with the library's kebab-case reason."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def load_library(path=None):
    """Load libhuddleup-token and declare the signatures used here.

    Without a path, the library is looked up as the system linker would
    find it (ctypes.util.find_library), so it must be installed.
    """
    if path is None:
        path = ctypes.util.find_library("huddleup-token")
        if path is None:
            raise OSError("libhuddleup-token not found: install it, or pass its path with --library")
    library = ctypes.CDLL(path)

    library.hu_strerror.argtypes = [ctypes.c_int]
    library.hu_strerror.restype = ctypes.c_char_p
    library.hu_version.argtypes = []
    library.hu_version.restype = ctypes.c_char_p
    library.hu_issuer_new_hmac.argtypes = [
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_char_p,
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
    ]
    library.hu_issuer_new_hmac.restype = ctypes.c_int
    library.hu_issuer_free.argtypes = [ctypes.c_void_p]
    library.hu_issuer_free.restype = None
    library.hu_issue.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(TokenRequest), ctypes.c_int64,
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_size_t,
    ]
    library.hu_issue.restype = ctypes.c_int
    library.hu_join_url.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_void_p),
    ]
    library.hu_join_url.restype = ctypes.c_int
    library.hu_free.argtypes = [ctypes.c_void_p]
    library.hu_free.restype = None
    return library


def _encode(text):
    return None if text is None else text.encode("utf-8")


def _take_string(library, pointer):
    """Copy a string that the library allocated, then free it with hu_free()."""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        library.hu_free(pointer)


def _raise_for(library, status, detail_buffer=None):
    reason = library.hu_strerror(status).decode("ascii")
    detail = detail_buffer.value.decode("utf-8", "replace") if detail_buffer else ""
    raise TokenError(reason, detail)


class HmacIssuer:
    """An HMAC issuer (hu_issuer_new_hmac); close() or a with block frees it.

    NOTE: the library copies and later wipes the secret, but Python's own
    copies of it (str and bytes objects) stay in memory until collected.
    """

    def __init__(self, library, app_id, secret, alg="HS256"):
        self.library = library
        self._issuer = ctypes.c_void_p()
        detail = ctypes.create_string_buffer(DETAIL_SIZE)
        secret_bytes = _encode(secret) if isinstance(secret, str) else bytes(secret)
        status = library.hu_issuer_new_hmac(
            ctypes.byref(self._issuer), _encode(alg), _encode(app_id),
            secret_bytes, len(secret_bytes), detail, DETAIL_SIZE)
        if status != HU_OK:
            _raise_for(library, status, detail)

    def issue(self, room, name=None, email=None, user_id=None, avatar=None,
              group=None, sub=None, moderator=False, ttl=0, now=None):
        """Return a signed token for one participant (ttl 0: one hour)."""
        request = TokenRequest(
            room=_encode(room), sub=_encode(sub), name=_encode(name),
            email=_encode(email), id=_encode(user_id), avatar=_encode(avatar),
            group=_encode(group), moderator=1 if moderator else 0, ttl=ttl)
        token = ctypes.c_void_p()
        detail = ctypes.create_string_buffer(DETAIL_SIZE)
        issued_at = int(time.time()) if now is None else int(now)
        status = self.library.hu_issue(
            self._issuer, ctypes.byref(request), issued_at,
            ctypes.byref(token), detail, DETAIL_SIZE)
        if status != HU_OK:
            _raise_for(self.library, status, detail)
        return _take_string(self.library, token)

    def close(self):
        if self._issuer:
            self.library.hu_issuer_free(self._issuer)
            self._issuer = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()


def join_url(library, base, room, token=None):
    """Return base/ROOM?jwt=TOKEN with the room percent-encoded (hu_join_url)."""
    url = ctypes.c_void_p()
    status = library.hu_join_url(_encode(base), _encode(room), _encode(token),
                                 ctypes.byref(url))
    if status != HU_OK:
        _raise_for(library, status)
    return _take_string(library, url)


def main(argv=None):
    """Print one join URL. Returns 0, or 2 on a usage or configuration error."""
    parser = argparse.ArgumentParser(
        description="Print a Jitsi Meet join URL with a HuddleUp token. Reads "
                    "HU_JITSI_HOST, HU_JITSI_JWT_APP_ID and HU_JITSI_JWT_SECRET.")
    parser.add_argument("--library", help="path of libhuddleup-token.so "
                        "(default: the installed library)")
    parser.add_argument("--room", required=True, help="Jitsi room name")
    parser.add_argument("--name", help="display name (context.user.name)")
    parser.add_argument("--moderator", action="store_true",
                        help="make the participant the room's owner")
    parser.add_argument("--ttl", type=int, default=0,
                        help="token lifetime in seconds (default 3600)")
    args = parser.parse_args(argv)

    settings = {}
    for variable in ("HU_JITSI_HOST", "HU_JITSI_JWT_APP_ID", "HU_JITSI_JWT_SECRET"):
        settings[variable] = os.environ.get(variable, "")
        if not settings[variable]:
            print(f"issue_ctypes: {variable} is not set", file=sys.stderr)
            return 2

    try:
        library = load_library(args.library)
        with HmacIssuer(library, settings["HU_JITSI_JWT_APP_ID"],
                        settings["HU_JITSI_JWT_SECRET"]) as issuer:
            token = issuer.issue(room=args.room, name=args.name,
                                 moderator=args.moderator, ttl=args.ttl)
        print(join_url(library, settings["HU_JITSI_HOST"], args.room, token))
    except OSError as error:
        print(f"issue_ctypes: cannot load libhuddleup-token: {error}", file=sys.stderr)
        return 2
    except TokenError as error:
        print(f"issue_ctypes: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
