"""Makes wheels of Python projects as Debian installed them, for the course's package index.

PyPI cannot be reached from Slipway's machines and Debian's archive here has no source
tarballs, so the wheels are made from Debian's binary packages: for each package named in
pypi-packages.txt (installed by apt beforehand), the projects it installs and, following
their Requires-Dist for this Python, the projects those need. A wheel holds exactly the
files dpkg lists for the project under dist-packages, and metadata converted from the
project's egg-info or dist-info. Debian drops a project's unconditional requirements from
its metadata (they become the package's Depends), so those are taken back from Depends:
`python3-werkzeug (>= 2.2.2)` becomes `Requires-Dist: Werkzeug>=2.2.2`. Code with compiled parts is tagged for this interpreter
and platform only (cp311-cp311-linux_x86_64, say), which is what the course's images run.

Usage: repack-wheels.py <package list> <output directory>
"""
import base64
import email.message
import email.parser
import email.policy
import hashlib
import importlib.metadata as metadata
import pathlib
import re
import subprocess
import sys
import sysconfig
import zipfile

from pip._vendor.packaging.requirements import Requirement

SITE = pathlib.Path("/usr/lib/python3/dist-packages")
package_list, output = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])


def dpkg_files(package: str) -> list[pathlib.Path]:
    listed = subprocess.run(["dpkg", "-L", package], check=True, capture_output=True, text=True).stdout
    return [pathlib.Path(line) for line in listed.splitlines() if line.startswith(f"{SITE}/")]


def owner(path: pathlib.Path) -> str:
    found = subprocess.run(["dpkg", "-S", str(path)], check=True, capture_output=True, text=True).stdout
    return found.split(":")[0]


def info_dir(dist: metadata.Distribution) -> pathlib.Path:
    return pathlib.Path(str(dist._path))  # type: ignore[attr-defined]  # PathDistribution


def project_files(dist: metadata.Distribution) -> list[pathlib.Path]:
    """The files of one project: its package's files under dist-packages that belong to it."""
    top_level = (dist.read_text("top_level.txt") or "").split()
    own_info = info_dir(dist)
    files = []
    for path in dpkg_files(owner(own_info)):
        if not path.is_file():
            continue
        relative = path.relative_to(SITE)
        first = relative.parts[0]
        if path.is_relative_to(own_info) or first in top_level or first.removesuffix(".py") in top_level or (
            len(relative.parts) == 1 and relative.stem.split(".")[0] in top_level
        ):
            files.append(path)
    return files


def projects_of(package: str) -> list[metadata.Distribution]:
    return [
        metadata.PathDistribution(path)
        for path in dpkg_files(package)
        if path.parent == SITE and path.suffix in (".egg-info", ".dist-info") and path.is_dir()
    ]


def is_installed(package: str) -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package], capture_output=True, text=True).stdout
    return status.endswith(" installed")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def debian_requirements(dist: metadata.Distribution) -> list[str]:
    """Requirements from the Debian package's Depends on other python3-* packages. A group
    with the interpreter as an alternative (`python3-importlib-metadata | python3 (>> 3.10)`)
    is met by the course's Python and is left out."""
    depends = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Depends}", owner(info_dir(dist))], check=True, capture_output=True, text=True
    ).stdout
    operators = {">=": ">=", ">>": ">", "=": "==", "<<": "<", "<=": "<="}
    found = []
    for group in filter(None, (part.strip() for part in depends.split(","))):
        alternatives = [alt.strip() for alt in group.split("|")]
        if any(re.match(r"python3(:any)?( |$)", alt) for alt in alternatives):
            continue
        for alternative in alternatives:
            match = re.match(r"(python3-[\w.+-]+)(?::\w+)?(?: \((>=|>>|=|<<|<=) ([^)]+)\))?$", alternative)
            if not match or not is_installed(match[1]):
                continue
            version = match[3] and re.sub(r"^\d+:|-[^-]*$|~.*$", "", match[3])
            for project in projects_of(match[1]):
                found.append(project.metadata["Name"] + (f"{operators[match[2]]}{version}" if version else ""))
            break
    return found


def requirements(dist: metadata.Distribution) -> list[str]:
    own = list(dist.requires or [])
    named = {normalize(Requirement(text).name) for text in own}
    return own + [text for text in debian_requirements(dist) if normalize(Requirement(text).name) not in named]


def converted_metadata(dist: metadata.Distribution) -> bytes:
    """METADATA for the wheel: the project's own headers, with Requires-Dist as the wheel spec
    wants them (egg-info keeps requirements in requires.txt; importlib converts them)."""
    original = email.parser.Parser(policy=email.policy.compat32).parsestr(
        dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    )
    message = email.message.Message()
    message["Metadata-Version"] = "2.1"
    for key, value in original.items():
        if key.lower() not in ("requires-dist", "metadata-version"):
            message[key] = value
    extras = set(original.get_all("Provides-Extra") or [])
    for requirement in requirements(dist):
        message["Requires-Dist"] = requirement
        for extra in re.findall(r'extra == "([^"]+)"', requirement):
            if extra not in extras:
                extras.add(extra)
                message["Provides-Extra"] = extra
    body = original.get_payload()
    if body:
        message.set_payload(body)
    return message.as_bytes(policy=email.policy.compat32)


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(dist: metadata.Distribution) -> str:
    name, version = dist.metadata["Name"], dist.metadata["Version"]
    escaped = re.sub(r"[^\w\d.]+", "_", name)
    files = project_files(dist)
    compiled = any(path.suffix == ".so" for path in files)
    if compiled:
        interpreter = f"cp{sys.version_info.major}{sys.version_info.minor}"
        tag = f"{interpreter}-{interpreter}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"
    else:
        tag = "py3-none-any"
    wheel_info = f"{escaped}-{version}.dist-info"
    contents: dict[str, bytes] = {}
    own_info = info_dir(dist)
    skip = {"PKG-INFO", "METADATA", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "requires.txt", "SOURCES.txt", "dependency_links.txt"}
    for path in files:
        if path.is_relative_to(own_info):
            if path.name not in skip:
                contents[f"{wheel_info}/{path.relative_to(own_info)}"] = path.read_bytes()
        else:
            contents[str(path.relative_to(SITE))] = path.read_bytes()
    contents[f"{wheel_info}/METADATA"] = converted_metadata(dist)
    contents[f"{wheel_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: slipway-repack-wheels\nRoot-Is-Purelib: {'false' if compiled else 'true'}\nTag: {tag}\n"
    ).encode()
    record = [record_line(name, data) for name, data in contents.items()] + [f"{wheel_info}/RECORD,,"]
    contents[f"{wheel_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{escaped}-{version}-{tag}.whl"
    with zipfile.ZipFile(output / filename, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name_in_zip, data in contents.items():
            archive.writestr(zipfile.ZipInfo(name_in_zip, date_time=(2023, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return filename


def installed(name: str) -> metadata.Distribution | None:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    return dist if info_dir(dist).parent == SITE else None


def main() -> None:
    output.mkdir(parents=True, exist_ok=True)
    wanted = re.sub(r"#.*", "", package_list.read_text()).split()
    queue = []
    for package in wanted:
        projects = projects_of(package)
        if not projects:
            sys.exit(f"{package} installs no Python project under {SITE}; name the python3-* package that does")
        queue.extend(projects)
    done: set[str] = set()
    while queue:
        dist = queue.pop()
        key = normalize(dist.metadata["Name"])
        if key in done:
            continue
        done.add(key)
        print(f"wheel: {make_wheel(dist)}")
        for text in requirements(dist):
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = installed(requirement.name)
            if needed is None:
                sys.exit(f"{dist.metadata['Name']} needs {requirement.name}, which no installed Debian package provides; add its python3-* package to pypi-packages.txt")
            queue.append(needed)


main()
