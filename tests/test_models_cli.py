"""`python -m heygem models ...` in a subprocess against a real HTTP server on 127.0.0.1,
serving a random-weight checkpoint in the official layout through a manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from heygem.media import file_digest
from heygem.testing.fileserver import FileServer, dead_url

ROOT = Path(__file__).resolve().parents[1]


def models(*args, cwd=None, env=None, stdin=subprocess.DEVNULL):
    cmd = [sys.executable, "-m", "heygem", "models", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=stdin, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def weights(random_checkpoint):
    """The random checkpoint as the manifest describes it: (path, size, sha256)."""
    return random_checkpoint, random_checkpoint.stat().st_size, file_digest(random_checkpoint)


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def manifest(tmp_path, weights, *urls, file="wav2lip_gan.pth", size=None, name="wav2lip_gan"):
    _, real_size, sha256 = weights
    entry = {
        "name": name,
        "file": file,
        "size": size or real_size,
        "sha256": sha256,
        "urls": list(urls),
        "licence": "Test weights: non-commercial use only.",
        "kind": "wav2lip",
        "about": "a random-weight Wav2Lip in the official layout",
    }
    path = tmp_path / "models.json"
    path.write_text(json.dumps([entry]))
    return path


def test_download_installs_the_verified_file(server, weights, tmp_path):
    path, size, sha256 = weights
    url = server.serve("/wav2lip_gan.pth", path)
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url), "--accept-licence"
    )
    assert proc.returncode == 0, proc.stderr
    installed = folder / "wav2lip_gan.pth"
    assert installed.stat().st_size == size and file_digest(installed) == sha256
    assert sorted(p.name for p in folder.iterdir()) == ["wav2lip_gan.pth"]  # no .part left
    assert f"verified ({size} bytes, SHA-256 {sha256})" in proc.stdout
    assert "Test weights: non-commercial use only." in proc.stdout  # the licence was shown
    again = models("download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url))
    assert again.returncode == 0 and "already installed and verified" in again.stdout
    assert len(server.requests) == 1  # nothing fetched the second time, no consent needed


def test_a_dropped_connection_resumes_with_range(server, weights, tmp_path):
    path, size, sha256 = weights
    url = server.serve("/wav2lip_gan.pth", path, drop_at=0.4)
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url), "--accept-licence"
    )
    assert proc.returncode == 0, proc.stderr
    assert file_digest(folder / "wav2lip_gan.pth") == sha256
    assert [r.status for r in server.requests] == [200, 206]
    assert server.requests[1].range == f"bytes={int(0.4 * size)}-"
    assert server.sent() < 1.5 * size


def test_a_server_that_ignores_range_is_restarted_and_still_correct(server, weights, tmp_path):
    path, size, sha256 = weights
    url = server.serve("/wav2lip_gan.pth", path, drop_at=0.4, honour_range=False)
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url), "--accept-licence"
    )
    assert proc.returncode == 0, proc.stderr
    assert file_digest(folder / "wav2lip_gan.pth") == sha256
    assert server.requests[1].range is not None and server.requests[1].sent == size


def test_wrong_bytes_of_the_right_size_are_refused(server, weights, tmp_path):
    path, size, _ = weights
    wrong = tmp_path / "wrong.pth"
    shutil.copyfile(path, wrong)
    with open(wrong, "r+b") as file:
        file.seek(size // 2)
        byte = file.read(1)
        file.seek(size // 2)
        file.write(bytes([byte[0] ^ 0xFF]))
    url = server.serve("/wav2lip_gan.pth", wrong)
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url), "--accept-licence"
    )
    assert proc.returncode == 1
    assert "wrong bytes" in proc.stderr and "Traceback" not in proc.stderr
    assert list(folder.iterdir()) == []  # nothing under the final name, the .part removed


def test_a_167_kb_trap_is_refused_as_the_wrong_size(server, weights, tmp_path):
    url = server.serve("/checkpoints/wav2lip.pth", b"<html>" + bytes(167_000 - 6))
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url), "--accept-licence"
    )
    assert proc.returncode == 1
    assert "wrong size: 167 kB, expected 145 MB" in proc.stderr
    assert list(folder.iterdir()) == []


def test_an_unreachable_url_falls_back_to_the_next(server, weights, tmp_path):
    path, _, sha256 = weights
    url = server.serve("/mirror/wav2lip_gan.pth", path)
    folder = tmp_path / "checkpoints"
    listed = manifest(tmp_path, weights, dead_url(), url)
    proc = models("download", "--dir", folder, "--manifest", listed, "--accept-licence")
    assert proc.returncode == 0, proc.stderr
    assert file_digest(folder / "wav2lip_gan.pth") == sha256


def test_every_url_unreachable_prints_the_manual_block(weights, tmp_path):
    _, size, sha256 = weights
    urls = [dead_url("/a/wav2lip_gan.pth"), dead_url("/b/wav2lip_gan.pth")]
    folder = tmp_path / "checkpoints"
    proc = models(
        "download", "--dir", folder, "--manifest", manifest(tmp_path, weights, *urls), "--accept-licence"
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    for fact in (
        "wav2lip_gan.pth",
        f"{size} bytes",
        sha256,
        *urls,
        str((folder / "wav2lip_gan.pth").resolve()),
    ):
        assert fact in proc.stderr


def test_without_a_terminal_and_without_consent_nothing_is_fetched(server, weights, tmp_path):
    url = server.serve("/wav2lip_gan.pth", weights[0])
    folder = tmp_path / "checkpoints"
    proc = models("download", "--dir", folder, "--manifest", manifest(tmp_path, weights, url))
    assert proc.returncode == 2
    assert "Test weights: non-commercial use only." in proc.stdout
    assert "--accept-licence" in proc.stderr
    assert server.requests == [] and not folder.exists()


def test_the_manifest_can_come_from_the_environment(server, weights, tmp_path):
    url = server.serve("/wav2lip_gan.pth", weights[0])
    env = {"HEYGEM_MODELS_MANIFEST": str(manifest(tmp_path, weights, url)), **_base_env()}
    proc = models("list", "--dir", tmp_path, env=env)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].split()[:4] == ["wav2lip_gan", "wav2lip_gan.pth", "145", "MB"]
    assert "a random-weight Wav2Lip" in proc.stdout


def test_a_users_own_weights_are_never_replaced_unless_forced(server, weights, tmp_path):
    """Another wav2lip_gan.pth (a fine-tune) is refused with its state, exit 1, untouched;
    --force keeps it as wav2lip_gan.pth.bak-<sha12> and installs the published file."""
    path, size, sha256 = weights
    url = server.serve("/wav2lip_gan.pth", path)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    theirs = bytearray(path.read_bytes())
    theirs[1000] ^= 0xFF  # the same size, one byte changed
    (folder / "wav2lip_gan.pth").write_bytes(theirs)
    table = manifest(tmp_path, weights, url)
    refused = models("download", "--dir", folder, "--manifest", table, "--accept-licence")
    assert refused.returncode == 1
    assert "is already there and is not the published wav2lip_gan (wrong hash" in refused.stderr
    assert "--force" in refused.stderr and server.requests == []
    assert (folder / "wav2lip_gan.pth").read_bytes() == theirs
    verify = models("verify", "--dir", folder, "--manifest", table)
    assert "engine auto uses it as it is" in verify.stdout and "--force" in verify.stdout
    forced = models("download", "--dir", folder, "--manifest", table, "--accept-licence", "--force")
    assert forced.returncode == 0, forced.stderr
    assert file_digest(folder / "wav2lip_gan.pth") == sha256
    backup = folder / f"wav2lip_gan.pth.bak-{hashlib.sha256(theirs).hexdigest()[:12]}"
    assert backup.read_bytes() == theirs
    assert sorted(p.name for p in folder.iterdir()) == sorted(["wav2lip_gan.pth", backup.name])


def test_verify_names_a_corrupted_file(weights, tmp_path):
    path, size, _ = weights
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copyfile(path, folder / "wav2lip_gan.pth")
    listed = manifest(tmp_path, weights, "http://127.0.0.1:9/unused")
    assert models("verify", "--dir", folder, "--manifest", listed).returncode == 0
    with open(folder / "wav2lip_gan.pth", "r+b") as file:
        file.seek(size - 10)
        file.write(b"0123456789")
    proc = models("verify", "--dir", folder, "--manifest", listed)
    assert proc.returncode == 1
    assert "wav2lip_gan.pth: wrong hash" in proc.stdout


def test_verify_reports_the_167_kb_trap_against_the_built_in_table(tmp_path):
    (tmp_path / "wav2lip.pth").write_bytes(bytes(167_000))
    proc = models("verify", "--dir", tmp_path)
    assert proc.returncode == 1
    assert "wav2lip.pth: wrong size: 167 kB, expected 436 MB" in proc.stdout
    assert "wav2lip_gan.pth: missing" in proc.stdout


def test_a_bad_manifest_is_named(tmp_path):
    bad = tmp_path / "mirror.json"
    bad.write_text(json.dumps([{"name": "x", "file": "../../etc/passwd"}]))
    proc = models("list", "--manifest", bad)
    assert proc.returncode == 2
    assert f"models manifest {bad}, entry 1 ('x'): missing size" in proc.stderr


def test_an_unknown_model_is_named(tmp_path):
    proc = models("download", "sadtalker", "--dir", tmp_path, "--accept-licence")
    assert proc.returncode == 2
    known = (
        "wav2lip_gan, wav2lip, s3fd, gfpgan_1.4, restoreformer_pp, musetalk_v15, sd_vae_ft_mse, whisper_tiny"
    )
    assert f"no model called sadtalker (known: {known}, detector, enhancer, musetalk)" in proc.stderr


def _base_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "HEYGEM_MODELS_MANIFEST"}


@pytest.mark.parametrize("answer", ["y", "n"])
def test_on_a_terminal_the_licence_is_asked(server, weights, tmp_path, answer):
    import os
    import pty

    url = server.serve("/wav2lip_gan.pth", weights[0])
    folder = tmp_path / "checkpoints"
    cmd = [sys.executable, "-m", "heygem", "models", "download", "--dir", str(folder)]
    cmd += ["--manifest", str(manifest(tmp_path, weights, url))]
    terminal, child = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child)
    os.close(child)
    seen = b""
    while b"[y/N]" not in seen:
        seen += os.read(terminal, 4096)
    os.write(terminal, f"{answer}\n".encode())
    while True:  # drain until the command closes the terminal
        try:
            if not os.read(terminal, 65536):
                break
        except OSError:
            break
    os.close(terminal)
    assert b"Test weights: non-commercial use only." in seen
    if answer == "y":
        assert proc.wait(120) == 0
        assert file_digest(folder / "wav2lip_gan.pth") == weights[2]
    else:
        assert proc.wait(120) == 2
        assert server.requests == []


def test_the_enhancers_are_in_the_built_in_table_with_their_licences(server, tmp_path):
    """Listed with size and licence; downloaded like any model, after the licence is shown
    (here from a mirror manifest of the same entry with a small file's hash)."""
    listed = models("list", "--dir", tmp_path)
    lines = listed.stdout.splitlines()
    gfpgan = next(line for line in lines if line.startswith("gfpgan_1.4 "))
    assert gfpgan.split()[1:4] == ["GFPGANv1.4.pth", "349", "MB"] and "missing" in gfpgan
    assert any(line.split()[:2] == ["restoreformer_pp", "RestoreFormer++.ckpt"] for line in lines)
    assert "StyleGAN2" in listed.stdout and "Apache-2.0, with no third-party carve-out" in listed.stdout
    table = json.loads((ROOT / "heygem" / "lipsync" / "models.json").read_text())
    entry = next(e for e in table if e["name"] == "gfpgan_1.4")
    assert (entry["size"], entry["sha256"][:12], entry["kind"]) == (348632874, "e2cd4703ab14", "enhancer")
    payload = tmp_path / "GFPGANv1.4.pth"
    payload.write_bytes(b"random restorer weights" * 1000)
    mirror = tmp_path / "mirror.json"
    entry.update(
        size=payload.stat().st_size, sha256=file_digest(payload), urls=[server.serve("/g.pth", payload)]
    )
    mirror.write_text(json.dumps([entry]))
    folder = tmp_path / "checkpoints"
    proc = models("download", "gfpgan_1.4", "--dir", folder, "--manifest", mirror, "--accept-licence")
    assert proc.returncode == 0, proc.stderr
    assert "GFPGANv1.4.pth (23 kB) licence: GFPGAN v1.4 weights" in proc.stdout
    assert (folder / "GFPGANv1.4.pth").read_bytes() == payload.read_bytes()
    verified = models("verify", "--dir", folder, "--manifest", mirror)
    assert "GFPGANv1.4.pth: 23 kB, SHA-256 verified" in verified.stdout


def test_musetalk_files_listed_with_licences_and_an_unhashed_one_never_downloaded(server, tmp_path):
    listed = models("list", "--dir", tmp_path)
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line and not line.startswith(" ")}
    assert rows["musetalk_v15"].split()[1:4] == ["musetalk/musetalkV15/unet.pth", "3.4", "GB"]
    assert rows["sd_vae_ft_mse"].split()[1:4] == [
        "musetalk/sd-vae/diffusion_pytorch_model.safetensors",
        "335",
        "MB",
    ]
    assert rows["whisper_tiny"].split()[1:4] == ["musetalk/whisper/model.safetensors", "151", "MB"]
    for licence in ("CreativeML OpenRAIL-M", "MIT, as its Hugging Face card states", "Apache-2.0"):
        assert licence in listed.stdout
    # a mirror of the three entries with small files; its UNet entry without a size or hash,
    # as a mirror whose publisher gives none would have it
    table = json.loads((ROOT / "heygem" / "lipsync" / "models.json").read_text())
    mirror = []
    for entry in (e for e in table if e["kind"] == "musetalk"):
        payload = tmp_path / entry["name"]
        payload.write_bytes(entry["name"].encode() * 500)
        unhashed = entry["name"] == "musetalk_v15"
        entry.update(
            size=None if unhashed else payload.stat().st_size,
            sha256=None if unhashed else file_digest(payload),
            urls=[server.serve(f"/{entry['name']}", payload)],
        )
        mirror.append(entry)
    manifest_path = tmp_path / "mirror.json"
    manifest_path.write_text(json.dumps(mirror))
    folder = tmp_path / "checkpoints"
    proc = models("download", "musetalk", "--dir", folder, "--manifest", manifest_path, "--accept-licence")
    assert proc.returncode == 1  # one file left to fetch by hand
    assert (
        folder / "musetalk/sd-vae/diffusion_pytorch_model.safetensors"
    ).read_bytes() == b"sd_vae_ft_mse" * 500
    assert (folder / "musetalk/whisper/model.safetensors").exists()
    assert not (folder / "musetalk/musetalkV15/unet.pth").exists()
    assert "gives no SHA-256" in proc.stderr and "sha256:  not published" in proc.stderr
    assert [r.path for r in server.requests if "musetalk_v15" in r.path] == []  # never asked for
    (folder / "musetalk/musetalkV15").mkdir()
    (folder / "musetalk/musetalkV15/unet.pth").write_bytes(b"fetched by hand")
    verified = models("verify", "--dir", folder, "--manifest", manifest_path)
    assert verified.returncode == 0
    assert "unet.pth: present (15 B), not verified: no published SHA-256" in verified.stdout


def test_the_default_model_is_the_apps_own_choice(server, weights, tmp_path):
    """A company mirror's table whose Wav2Lip entry has another name: `models download` (and so
    start_app.sh --download-models) fetches it, as the app's download button does."""
    path, _, sha256 = weights
    url = server.serve("/mirror/wav2lip_gan.pth", path)
    folder = tmp_path / "checkpoints"
    table = manifest(tmp_path, weights, url, name="gan_mirror")
    proc = models("download", "--dir", folder, "--manifest", table, "--accept-licence")
    assert proc.returncode == 0, proc.stderr
    assert file_digest(folder / "wav2lip_gan.pth") == sha256
