"""Packaging for socialhub: the package, its schema files and the twistd plugin dropin."""

import re
from pathlib import Path

from setuptools import find_packages, setup


def _version() -> str:
    """`__version__` of socialhub/__init__.py, read as text: importing the package would need
    its dependencies installed before they are."""
    text = (Path(__file__).parent / "socialhub" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if found is None:
        raise RuntimeError("socialhub/__init__.py has no __version__ line")
    return found.group(1)


setup(
    name="socialhub",
    version=_version(),
    description="A self-hostable, real-time social network server on Twisted",
    # An SPDX expression (Metadata 2.4's License-Expression), which replaces the License ::
    # classifiers: setuptools refuses the two together.
    license_expression="Apache-2.0",
    license_files=["LICENSE"],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Framework :: Twisted",
        "Operating System :: POSIX :: Linux",
    ],
    python_requires=">=3.11",
    packages=[*find_packages(exclude=["trial_tests*", "bench", "bench.*"]), "twisted.plugins"],
    package_data={
        "socialhub.storage": ["schema/*.sql"],
        # The web client, served as it is (docs/web.md): its files up to js/views/.
        "socialhub": ["web/*.*", "web/*/*.*", "web/*/*/*.*"],
        "twisted.plugins": ["socialhub_plugin.py"],
    },
    entry_points={"console_scripts": ["socialhub-admin = socialhub.admin_cli.main:main"]},
    install_requires=[
        # socialhub/_compat reads these four's internals: each range is what its
        # trial_tests/_compat/ has passed on (the lowest release and the newest), so a
        # release those tests have not seen is not installed. txredisapi before 1.6 never
        # answers whenConnected on a protocol already connected.
        "Twisted[tls]>=24.7,<26.11",
        "autobahn>=24.4.2,<26.12",
        "klein>=24.8,<25",
        "txpostgres>=1.7,<1.8",
        "psycopg2-binary>=2.9.9,<3",
        "txredisapi>=1.6,<1.7",
        "hiredis>=3.0,<4",  # txredisapi parses replies with it when it is installed
        "treq>=24.9,<27",
        "argon2-cffi>=23.1,<26",
        "prometheus-client>=0.20,<1",
        "orjson>=3.10,<4",
        "Pillow>=10.4,<14",
    ],
    extras_require={
        "dev": [
            "ruff>=0.6,<1",
            "mypy>=1.11,<3",
            "mypy-zope>=1.0,<2",
            "coverage>=7,<8",
            "import-linter>=2.1,<3",  # the layers contract in pyproject.toml
            "hypothesis>=6.100,<7",  # property tests
            "aiosmtpd>=1.4,<2",  # the SMTP server the mail tests send to
            "schemathesis>=4.32,<5",  # fuzzes a live server from /api/openapi.json
            "openapi-spec-validator>=0.7,<1",  # checks /api/openapi.json is valid OpenAPI 3.1
            # The browser tests (trial_tests/web/) drive Debian's Chromium (/usr/bin/chromium);
            # Playwright's own browsers are never downloaded.
            "playwright>=1.47,<2",
            "axe-playwright-python>=0.1.4,<1",
        ],
        # Mutation testing of the authorization rules (docs/testing.md): mutmut 2 runs any test
        # command (trial here); mutmut 3 runs pytest only.
        "mutation": ["mutmut>=2.5.1,<3"],
        # python -m bench (docs/performance.md): the load generator and the peers it compares.
        "bench": [
            "picows>=2.0,<3",
            "uvloop>=0.19,<1",
            "aiohttp>=3.9,<4",
            "daphne>=4.1,<5",
            "channels>=4.1,<5",
            "channels-redis>=4.2,<5",
            "python-socketio>=5.11,<6",
            "fastapi>=0.110,<1",
            "uvicorn[standard]>=0.30,<1",
            "py-spy>=0.3.14,<1",
        ],
    },
)
