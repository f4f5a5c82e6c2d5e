#!/usr/bin/env python3
"""Check docs/examples/issue_ctypes.py against a built libhuddleup-token.

Usage: ctypes_example.py LIBRARY CLI

Runs the example as a user would, then has the huddleup-token command verify
the token it printed, and calls the example's functions for the error path.
"""

import json
import os
import pathlib
import subprocess
import sys
import unittest
import urllib.parse

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples" / "issue_ctypes.py"
SECRET = "ctypes-example-secret-of-32-bytes-or-more"
APP_ID = "ctypes-example"

sys.path.insert(0, str(EXAMPLE.parent))
import issue_ctypes  # noqa: E402  (the path is set just above)

LIBRARY = None
CLI = None


def example_environment():
    environment = dict(os.environ)
    environment.update({
        "HU_JITSI_HOST": "https://meet.example.com/",
        "HU_JITSI_JWT_APP_ID": APP_ID,
        "HU_JITSI_JWT_SECRET": SECRET,
    })
    return environment


def verify(token, room):
    environment = dict(os.environ, HU_JITSI_JWT_APP_ID=APP_ID, HU_JITSI_JWT_SECRET=SECRET)
    completed = subprocess.run([CLI, "verify", "--room", room, token], env=environment,
                               capture_output=True, text=True, timeout=60)
    return completed.returncode, json.loads(completed.stdout)


class IssueCtypesExample(unittest.TestCase):
    def run_example(self, *arguments):
        return subprocess.run([sys.executable, str(EXAMPLE), "--library", LIBRARY, *arguments],
                              env=example_environment(), capture_output=True, text=True,
                              timeout=60)

    def test_moderator_url_verifies(self):
        completed = self.run_example("--room", "Team Sync", "--name", "Grace", "--moderator")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        url = urllib.parse.urlsplit(completed.stdout.strip())
        self.assertEqual(url.scheme + "://" + url.netloc, "https://meet.example.com")
        self.assertEqual(url.path, "/Team%20Sync")
        token = urllib.parse.parse_qs(url.query)["jwt"][0]

        status, result = verify(token, "Team Sync")
        self.assertEqual(status, 0, result)
        self.assertTrue(result["valid"])
        self.assertTrue(result["moderator"])
        self.assertEqual(result["claims"]["iss"], APP_ID)
        self.assertEqual(result["claims"]["room"], "Team Sync")
        self.assertEqual(result["claims"]["context"]["user"]["name"], "Grace")

    def test_member_token_is_not_moderator(self):
        library = issue_ctypes.load_library(LIBRARY)
        with issue_ctypes.HmacIssuer(library, APP_ID, SECRET) as issuer:
            token = issuer.issue(room="standup", name="Alan", ttl=600)
        status, result = verify(token, "standup")
        self.assertEqual(status, 0, result)
        self.assertFalse(result["moderator"])
        self.assertEqual(result["claims"]["exp"] - result["claims"]["iat"], 600)

    def test_short_secret_raises_configuration_error(self):
        library = issue_ctypes.load_library(LIBRARY)
        with self.assertRaises(issue_ctypes.TokenError) as raised:
            issue_ctypes.HmacIssuer(library, APP_ID, "too-short")
        self.assertEqual(raised.exception.reason, "configuration-error")

    def test_room_with_slash_raises_invalid_argument(self):
        library = issue_ctypes.load_library(LIBRARY)
        with issue_ctypes.HmacIssuer(library, APP_ID, SECRET) as issuer:
            with self.assertRaises(issue_ctypes.TokenError) as raised:
                issuer.issue(room="a/b")
        self.assertEqual(raised.exception.reason, "invalid-argument")

    def test_missing_secret_exits_2(self):
        environment = example_environment()
        del environment["HU_JITSI_JWT_SECRET"]
        completed = subprocess.run([sys.executable, str(EXAMPLE), "--library", LIBRARY,
                                    "--room", "standup"], env=environment,
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("HU_JITSI_JWT_SECRET is not set", completed.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: ctypes_example.py LIBRARY CLI", file=sys.stderr)
        sys.exit(2)
    LIBRARY, CLI = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
