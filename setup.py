from setuptools import find_packages, setup

setup(
    name="ruleset-analysis",
    version="0.1.0",
    description="Which Cisco ASA/FWSM access-list rules are used, by what traffic, and when: "
                "preprocess configs, MapReduce over syslog (mrjob), per-rule reports.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["ruleset_analysis", "ruleset_analysis.*"]),
    python_requires=">=3.9",
    install_requires=[
        "mrjob>=0.7.4",
        "netaddr>=0.8",
        "sqlitedict>=2.0",
        "tabulate>=0.8",
        "click>=8.0",
        # the JSON report: json's indenting encoder is Python, 6 s of a 120k-rule report
        "orjson>=3.9",
        # gzipped logs inflated by zlib-ng: half zlib's time (report/lines.py GzipMembers)
        "zlib-ng>=0.4",
        # mrjob 0.7.4 imports modules newer Pythons dropped from the standard library.
        "standard-pipes; python_version >= '3.13'",
        "standard-distutils; python_version >= '3.12'",
    ],
    extras_require={"test": ["pytest>=7", "hypothesis>=6",
                             "backports.zstd>=1.0; python_version < '3.14'"],
                    # zstd logs: Python 3.14's compression.zstd, or its backport
                    "zstd": ["backports.zstd>=1.0; python_version < '3.14'"],
                    # what CI checks the code with (`ruff check .`, `mypy`), pinned
                    "lint": ["ruff==0.17.6", "mypy==2.4.1"],
                    # -r spark on this machine (local mode; needs Java 17+)
                    "spark": ["pyspark>=3.4"]},
    entry_points={"console_scripts": ["ruleset-analysis=ruleset_analysis.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: System :: Networking :: Firewalls",
        "Intended Audience :: System Administrators",
    ],
)
