"""The models table as data: the built-in one, manifests that replace it, and each file's state."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from heygem.lipsync.weights import (
    BUILT_IN_TABLE,
    MUSETALK_FILES,
    MUSETALK_FOLDER,
    ModelsManifestError,
    WeightState,
    check_model,
    install_model,
    load_table,
    manual_instructions,
    select_models,
    wav2lip_model,
)
from heygem.net.download import part_path

ISSUE_TABLE = {  # the facts of the issue, verified across independent copies
    "wav2lip_gan.pth": (435801865, "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8"),
    "wav2lip.pth": (435807851, "b78b681b68ad9fe6c6fb1debc6ff43ad05834a8af8a62ffc4167b7b34ef63c37"),
    "s3fd.pth": (89843225, "619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543"),
    # the face enhancer issue's GFPGAN; RestoreFormer++: a Hugging Face LFS pointer (size also
    # in an independent download script), its GitHub release having no published hash
    "GFPGANv1.4.pth": (348632874, "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad"),
    "RestoreFormer++.ckpt": (294028815, "613fe52805f86bf8c2bffff08ae9f7a0b99f408be1bf221767af6183038be3a2"),
    # MuseTalk 1.5 (issue 22): each file's LFS object (size, SHA-256) at the pinned revision,
    # the same in several independent download manifests (and, for the UNet, its tensor
    # inventory: tests/lipsync/test_musetalk.py)
    "musetalk/musetalkV15/unet.pth": (
        3400074924,
        "7ebf6c98c181e20838e4c0054e96e944ac60d5d692cc01db42839fe11b787007",
    ),
    "musetalk/sd-vae/diffusion_pytorch_model.safetensors": (
        334643276,
        "a1d993488569e928462932c8c38a0760b874d166399b14414135bd9c42df5815",
    ),
    "musetalk/whisper/model.safetensors": (
        151061672,
        "7ebd0e69e78190ffe1438491fa05cc1f5c1aa3a4c4db3bc1723adbb551ea2395",
    ),
}


def test_the_built_in_table_holds_the_published_files(monkeypatch):
    monkeypatch.delenv("HEYGEM_MODELS_MANIFEST", raising=False)
    table = load_table()
    assert {m.file: (m.size, m.sha256) for m in table} == ISSUE_TABLE
    assert [m.name for m in table][:5] == ["wav2lip_gan", "wav2lip", "s3fd", "gfpgan_1.4", "restoreformer_pp"]
    assert [m.kind for m in table[3:]] == ["enhancer", "enhancer", "musetalk", "musetalk", "musetalk"]
    assert "StyleGAN2" in table[3].licence and "DFDNet" in table[3].licence
    assert "Apache-2.0" in table[4].licence and table[4].urls[0].startswith("https://github.com/wzhouxiff/")
    assert wav2lip_model(table).file == "wav2lip_gan.pth" and wav2lip_model(table).size_text == "436 MB"
    gan = table[0]
    assert gan.urls[0].startswith("https://huggingface.co/Nekochu/Wav2Lip/resolve/fb925b05f0d3")  # pinned
    assert "non-commercial" in gan.licence and "strictly prohibited" in gan.licence
    assert len(table[2].urls) == 2  # S3FD falls back to a second host


def entry(**changes) -> dict:
    base = {
        "name": "mirror_gan",
        "file": "wav2lip_gan.pth",
        "size": 10,
        "sha256": "a" * 64,
        "urls": ["http://mirror.example/wav2lip_gan.pth"],
        "licence": "non-commercial",
        "kind": "wav2lip",
    }
    return {**base, **changes}


def write(tmp_path, entries) -> object:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("HEYGEM_TEST_NETWORK") != "1",
    reason="needs the internet: HEYGEM_TEST_NETWORK=1 pytest -m network",
)
def test_every_published_url_serves_a_file_of_the_tables_size(monkeypatch):
    """The table above is a tripwire against edits; this asks the hosts themselves: each URL
    answers a HEAD (redirects followed) with the size the table says."""
    import urllib.request

    monkeypatch.delenv("HEYGEM_MODELS_MANIFEST", raising=False)
    for model in load_table():
        for url in model.urls:
            request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "heygem-tests"})
            with urllib.request.urlopen(request, timeout=60) as response:
                assert int(response.headers["Content-Length"]) == model.size, url


def test_a_manifest_replaces_the_table_from_the_flag_or_the_environment(tmp_path, monkeypatch):
    path = write(tmp_path, [entry()])
    assert [m.name for m in load_table(path)] == ["mirror_gan"]
    monkeypatch.setenv("HEYGEM_MODELS_MANIFEST", str(path))
    assert [m.name for m in load_table()] == ["mirror_gan"]
    assert wav2lip_model(load_table()).name == "mirror_gan"  # no wav2lip_gan: the first Wav2Lip entry


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"file": "../../etc/passwd"}, "'file' must be one of wav2lip_gan.pth, Wav2Lip-SD-GAN.pt"),
        ({"kind": "sadtalker"}, "'kind' must be one of wav2lip, detector, enhancer, musetalk"),
        ({"size": "436 MB"}, "'size' must be bytes > 0"),
        ({"size": 0}, "'size' must be bytes > 0 (or null: not published)"),
        ({"sha256": "abc"}, "'sha256' must be 64 hex digits"),
        ({"urls": []}, "'urls' must be a non-empty list"),
        ({"colour": "red"}, "unknown keys colour"),
    ],
)
def test_a_bad_entry_is_named_with_its_reason(tmp_path, bad, message):
    path = write(tmp_path, [entry(name="ok", file="wav2lip.pth"), entry(**bad)])
    with pytest.raises(ModelsManifestError) as caught:
        load_table(path)
    assert f"models manifest {path}, entry 2 ('mirror_gan'): {message}" in str(caught.value)


def test_unreadable_manifests_are_named(tmp_path):
    with pytest.raises(ModelsManifestError, match="absent.json: cannot read it"):
        load_table(tmp_path / "absent.json")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(ModelsManifestError, match="broken.json: not valid JSON"):
        load_table(tmp_path / "broken.json")
    with pytest.raises(ModelsManifestError, match="used twice"):
        load_table(write(tmp_path, [entry(), entry()]))
    with pytest.raises(ModelsManifestError, match="no model called sadtalker"):
        select_models(load_table(write(tmp_path, [entry()])), ["sadtalker"])


def test_each_state_of_a_file(tmp_path):
    data = b"0123456789"
    model = load_table(write(tmp_path, [entry(sha256=hashlib.sha256(data).hexdigest())]))[0]
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert check_model(model, folder).state == WeightState.MISSING
    part_path(folder / model.file).write_bytes(data[:4])
    partial = check_model(model, folder)
    assert partial.state == WeightState.PARTIAL and "4 B of 10 B" in partial.detail
    (folder / model.file).write_bytes(data[:9])
    assert check_model(model, folder).detail == "wrong size: 9 B, expected 10 B"
    (folder / model.file).write_bytes(data[::-1])
    assert check_model(model, folder).state == WeightState.WRONG_HASH
    (folder / model.file).write_bytes(data)
    assert check_model(model, folder).state == WeightState.INSTALLED


def test_the_manual_block_says_what_to_fetch_and_where(tmp_path):
    model = load_table(write(tmp_path, [entry(urls=["http://a/w.pth", "http://b/w.pth"])]))[0]
    block = manual_instructions(model, tmp_path)
    for fact in ("wav2lip_gan.pth", "10 bytes", "a" * 64, "http://a/w.pth", "http://b/w.pth"):
        assert fact in block
    assert f"put it:  {tmp_path.resolve() / 'wav2lip_gan.pth'}" in block


def test_the_musetalk_files_with_their_licences_and_pins():
    table = load_table(BUILT_IN_TABLE)
    musetalk = select_models(table, ["musetalk"])  # a kind stands for its entries
    assert [m.name for m in musetalk] == ["musetalk_v15", "sd_vae_ft_mse", "whisper_tiny"]
    assert [m.file for m in musetalk] == list(MUSETALK_FILES)
    unet, vae, whisper = musetalk
    assert unet.verifiable and vae.verifiable and whisper.verifiable  # each pinned by size and SHA-256
    assert "CreativeML OpenRAIL-M" in unet.licence and "even commercially" in unet.licence
    assert "MIT" in vae.licence and "Apache-2.0" in whisper.licence
    pinned = re.compile(r"https://huggingface\.co/[\w.-]+/[\w.-]+/resolve/[0-9a-f]{40}/")
    assert all(pinned.match(m.urls[0]) for m in musetalk)  # a revision, never a branch
    # where the engine looks for them (heygem.lipsync.musetalk.networks)
    from heygem.lipsync.musetalk import networks

    looked_for = (networks.UNET_FILES[0], networks.VAE_FILES[0], networks.WHISPER_FILES[0])
    assert [f"{MUSETALK_FOLDER}/{name}" for name in looked_for] == list(MUSETALK_FILES)


def test_a_file_without_a_published_hash_is_never_called_verified(tmp_path):
    model = load_table(write(tmp_path, [entry(size=None, sha256=None)]))[0]
    assert model.size_text == "size ?" and not model.verifiable
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert check_model(model, folder).state == WeightState.MISSING
    (folder / model.file).write_bytes(b"whatever it is")
    present = check_model(model, folder)
    assert present.state == WeightState.UNVERIFIED and "no published SHA-256" in present.detail
    with pytest.raises(ModelsManifestError, match="no published size and SHA-256"):
        install_model(model, tmp_path / "elsewhere")
    block = manual_instructions(model, folder)
    assert "sha256:  not published" in block and f"--dir {folder.resolve()}" in block
