"""The musetalk engine: its files read strictly (small random networks written in each
official layout; the published configuration checked on the meta device), its audio features
and its per-frame step held to plain restatements of upstream's inference, and the face
enhancer after it."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from heygem.faces import FaceTrack
from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
from heygem.lipsync.engines import EngineError, FaceRegion, create_engine
from heygem.lipsync.enhancing import EnhanceOptions, Enhancers
from heygem.lipsync.masks import face_mask
from heygem.lipsync.musetalk import networks
from heygem.lipsync.musetalk.networks import MuseTalkLoadError, find_files
from heygem.media import audio, video
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration
from heygem.testing import synthetic
from heygem.testing.musetalk import random_musetalk
from heygem.testing.restorers import SMALL_GFPGAN, random_restorer_file

# musetalkV15/unet.pth as published (its LFS object): the file's bytes, and its tensors (count,
# fp32 bytes) as a published inventory of that file lists them
UNET_FILE_BYTES = 3_400_074_924
UNET_TENSORS = 686
UNET_TENSOR_BYTES = 3_399_791_376


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return random_musetalk(tmp_path_factory.mktemp("checkpoints") / "musetalk", seed=3, old_vae_names=True)


@pytest.fixture(scope="module")
def engine(folder):
    return create_engine("musetalk", folder, "cpu", 2, "auto", musetalk_margin=10)


def test_the_published_unet_is_the_official_files_network():
    model = networks.build_on_meta(networks.build_unet, networks.UNET_PUBLISHED)
    state = dict(networks.build_on_meta(networks.build_unet, networks.UNET_PUBLISHED).state_dict())
    assert len(state) == UNET_TENSORS
    assert 4 * sum(v.numel() for v in state.values()) == UNET_TENSOR_BYTES
    assert 0 < UNET_FILE_BYTES - UNET_TENSOR_BYTES < 1_000_000  # the rest is the file's zip and pickle
    networks.assemble(model, state, "unet.pth", device="meta")  # every key and shape fits
    assert model.conv_in.weight.shape == (320, 8, 3, 3)  # masked crop latent + reference latent
    assert model.config.cross_attention_dim == 384  # whisper-tiny's width
    other = networks.build_on_meta(
        networks.build_unet, {**networks.UNET_PUBLISHED, "cross_attention_dim": 768}
    )
    with pytest.raises(MuseTalkLoadError, match=r"unet.pth: .*wrong shape.*attn2.to_k.weight"):
        networks.assemble(other, state, "unet.pth", device="meta")
    state.pop("conv_out.bias")
    with pytest.raises(MuseTalkLoadError, match=r"missing 1 key\(s\): conv_out.bias"):
        networks.assemble(model, state, "unet.pth", device="meta")


def test_the_published_vae_and_whisper_encoder_fit_their_official_key_sets():
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    vae = networks.build_on_meta(networks.build_vae, networks.VAE_PUBLISHED)
    assert sum(p.numel() for p in vae.parameters()) == 83_653_863  # sd-vae-ft-mse: 335 MB of fp32
    with torch.device("meta"):
        full = WhisperForConditionalGeneration(
            WhisperConfig(**networks.WHISPER_PUBLISHED, decoder_layers=4, decoder_attention_heads=6)
        )
    encoder_state = networks.whisper_encoder_state(full.state_dict(), "model.safetensors")
    encoder = networks.build_on_meta(networks.build_whisper_encoder, networks.WHISPER_PUBLISHED)
    networks.assemble(encoder, encoder_state, "model.safetensors", device="meta")
    assert len(encoder.layers) + 1 == 5 and encoder.config.d_model == 384  # rows of (5, 384)


def test_the_official_layouts_load_through_the_real_loaders(folder, tmp_path):
    from safetensors.torch import load_file

    files = find_files(folder)
    unet, vae = networks.read_unet(files), networks.read_vae(files)
    written = torch.load(folder / "musetalkV15" / "unet.pth", weights_only=True)
    torch.testing.assert_close(unet.conv_out.weight, written["conv_out.weight"], rtol=0, atol=0)
    old_names = load_file(str(folder / "sd-vae" / "diffusion_pytorch_model.safetensors"))
    assert "encoder.mid_block.attentions.0.query.weight" in old_names  # diffusers < 0.14 names
    torch.testing.assert_close(
        vae.encoder.mid_block.attentions[0].to_q.weight,
        old_names["encoder.mid_block.attentions.0.query.weight"],
        rtol=0,
        atol=0,
    )
    # whisper as upstream keeps it: pytorch_model.bin of a WhisperModel ("encoder.*" keys)
    other = tmp_path / "musetalk"
    (other / "whisper").mkdir(parents=True)
    for name in ("musetalkV15", "sd-vae"):
        (other / name).symlink_to(folder / name)
    full = load_file(str(folder / "whisper" / "model.safetensors"))
    torch.save(
        {k.removeprefix("model."): v for k, v in full.items()}, other / "whisper" / "pytorch_model.bin"
    )
    (other / "whisper" / "config.json").write_bytes((folder / "whisper" / "config.json").read_bytes())
    encoder = networks.read_whisper_encoder(find_files(other))
    torch.testing.assert_close(
        encoder.embed_positions.weight, full["model.encoder.embed_positions.weight"], rtol=0, atol=0
    )


def test_missing_and_wrong_files_are_named(folder, tmp_path):
    with pytest.raises(EngineError, match=r"missing musetalkV15/unet.pth, sd-vae/diffusion_pytorch_model"):
        create_engine("musetalk", tmp_path / "nothing here", "cpu", None)
    wrong = tmp_path / "wrong"
    for name in ("sd-vae", "whisper"):
        wrong.mkdir(exist_ok=True)
        (wrong / name).symlink_to(folder / name)
    (wrong / "musetalkV15").mkdir()
    (wrong / "musetalkV15" / "musetalk.json").write_bytes(
        (folder / "musetalkV15" / "musetalk.json").read_bytes()
    )
    vae_state = networks.read_vae(find_files(folder)).state_dict()
    torch.save(vae_state, wrong / "musetalkV15" / "unet.pth")  # another network's weights
    with pytest.raises(EngineError, match=r"unet.pth: not the expected network: missing .* unexpected"):
        create_engine("musetalk", wrong, "cpu", None)
    (wrong / "musetalkV15" / "unet.pth").write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(EngineError, match=r"unet.pth: not a readable PyTorch weights file"):
        create_engine("musetalk", wrong, "cpu", None)


def test_whisper_features_match_upstream_restated(engine, tmp_path):
    """Upstream's get_audio_feature + get_whisper_chunk on the whole file, restated, against
    our narration's streamed features read through the window rule."""
    from transformers import WhisperFeatureExtractor

    path = synthetic.speech_wav(tmp_path / "voice.wav", 35.0, seed=5)  # two segments; ffmpeg blocks of 10 s
    samples = audio.load_audio(path)
    extractor = WhisperFeatureExtractor(feature_size=80)
    encoder = engine.audio_features.encoder
    states = []
    with torch.no_grad():
        for start in range(0, len(samples), 30 * 16000):
            segment = extractor(samples[start : start + 30 * 16000], sampling_rate=16000, return_tensors="pt")
            hidden = encoder(segment.input_features, output_hidden_states=True).hidden_states
            states.append(torch.stack(hidden, dim=2))
    whole = torch.cat(states, dim=1)[:, : math.floor(len(samples) / 16000) * 50]
    fps, per_frame = 25, 10
    padded = torch.cat([torch.zeros_like(whole[:, :4]), whole, torch.zeros_like(whole[:, :12])], 1)
    frames = np.array([0, 1, 2, 400, 749, 873, 874])  # 35 s at 25 fps: 875 frames
    upstream = np.stack(
        [padded[0, math.floor(i * 50 / fps) : math.floor(i * 50 / fps) + per_frame].numpy() for i in frames]
    ).reshape(len(frames), -1, encoder.config.d_model)  # 'b c h w -> b (c h) w'
    narration = Narration(path)
    ours = narration.windows_for(frames, 25.0, 0, engine.audio_features)
    assert ours.shape == upstream.shape == (7, 10 * 3, 32)
    np.testing.assert_allclose(ours, upstream, rtol=0, atol=1e-5)
    narration.close()


def test_the_per_frame_step_matches_upstream_restated(engine):
    """crop (+ extra_margin) -> Lanczos 256 -> VAE latents (masked, reference) -> UNet at
    t=0 with the whisper window + position table -> decode -> resize back -> blend; our
    blend mask stands in for upstream's BiSeNet parsing. The posterior's mean stands in for
    upstream's sample of it (see heygem.lipsync.musetalk.model)."""
    frame = next(synthetic.face_frames(1, (640, 360), face=260, move=False))
    crop = (190, 40, 450, 300)
    face = FaceRegion(crop, (270.0, 215.0, 370.0, 250.0))
    window = np.random.default_rng(1).standard_normal((1, 30, 32)).astype(np.float32)
    ours = frame.copy()
    engine.render([ours], [face], window)

    model = engine.runtime
    x1, y1, x2, y2 = crop
    y2 = min(y2 + 10, frame.shape[0])  # extra_margin
    crop_frame = cv2.resize(frame[y1:y2, x1:x2], (256, 256), interpolation=cv2.INTER_LANCZOS4)
    with torch.no_grad():

        def preprocess(img, half_mask):
            x = np.asarray([cv2.cvtColor(img, cv2.COLOR_BGR2RGB)]) / 255.0
            x = torch.squeeze(torch.FloatTensor(np.transpose(x, (3, 0, 1, 2))))
            if half_mask:
                mask = torch.zeros(256, 256)
                mask[:128] = 1
                x = x * (mask > 0.5)
            return ((x - 0.5) / 0.5).unsqueeze(0)

        def encode(image):
            return model.vae.config.scaling_factor * model.vae.encode(image).latent_dist.mode()

        latents = torch.cat(
            [encode(preprocess(crop_frame, True)), encode(preprocess(crop_frame, False))], dim=1
        )
        width = 32
        pe = torch.zeros(5000, width)
        position = torch.arange(0, 5000, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, width, 2).float() * (-math.log(10000.0) / width))
        pe[:, 0::2], pe[:, 1::2] = torch.sin(position * div_term), torch.cos(position * div_term)
        condition = torch.from_numpy(window) + pe[None, :30]
        predicted = model.unet(latents, torch.tensor([0]), encoder_hidden_states=condition).sample
        image = model.vae.decode((1 / model.vae.config.scaling_factor) * predicted).sample
        image = (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().numpy()
        res = (image * 255).round().astype("uint8")[..., ::-1][0]
    res = cv2.resize(res.astype(np.uint8), (x2 - x1, y2 - y1))
    upstream = frame.copy()
    region = upstream[y1:y2, x1:x2].astype(np.float32)
    alpha = face_mask((x1, y1, x2, y2), face.mouth, None, face.mask)[..., None]
    upstream[y1:y2, x1:x2] = (region + alpha * (res.astype(np.float32) - region) + 0.5).astype(np.uint8)

    assert np.abs(ours.astype(int) - upstream).max() <= 1
    changed = np.argwhere((ours != frame).any(axis=2))
    assert len(changed) > 1000  # the random network did change the mouth
    assert changed[:, 0].min() >= y1 + (y2 - y1) // 2 - 30 and changed[:, 0].max() < y2  # lower half only
    assert changed[:, 1].min() >= x1 and changed[:, 1].max() < x2


def test_a_frame_without_a_face_is_left_alone(engine):
    frame = next(synthetic.face_frames(1, (320, 180), face=120, move=False))
    frames = [frame.copy()]
    engine.render(frames, [None], np.zeros((1, 30, 32), np.float32))
    np.testing.assert_array_equal(frames[0], frame)


def test_the_enhancer_runs_after_musetalk_unchanged(folder, tmp_path):
    random_restorer_file("gfpgan", tmp_path / "GFPGANv1.4.pth", SMALL_GFPGAN, seed=7)
    settings = EngineSettings(
        engine="musetalk",
        checkpoint=folder,
        checkpoint_dir=tmp_path,
        device="cpu",
        batch_size=4,
        enhancer_runtime="torch",
        track_cache_mb=0,
    )
    syncer = load_syncer(settings, SyncOptions())
    clip = synthetic.face_video(tmp_path / "still.mp4", 0.4, size=(320, 180), face=130, move=False)
    voice = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    syncer.options = SyncOptions(encode=EncodeOptions(crf=0), enhance=EnhanceOptions("gfpgan", 80.0))
    result = syncer.run(Narration(voice), clip, tmp_path / "out.mp4", tmp_path / "work")
    assert (result.status, result.engine, result.enhancer, result.frames) == (
        "done",
        "musetalk",
        "gfpgan",
        10,
    )
    assert result.stage_seconds["enhance"] > 0
    assert video.probe(result.output).n_frames == 10


def test_the_enhancers_auto_rule_scales_from_musetalks_256_px_face(engine, tmp_path):
    """A 400 px face is 4.2x Wav2Lip's 96 px patch (auto would restore it on a GPU) but only
    1.6x MuseTalk's 256 px one (auto leaves it)."""
    random_restorer_file("gfpgan", tmp_path / "GFPGANv1.4.pth", SMALL_GFPGAN, seed=7)
    boxes = np.tile(np.float32([100, 100, 500, 500]), (10, 1))
    track = FaceTrack(boxes, np.full((10, 4), np.nan, np.float32))
    enhancers = Enhancers("cuda", tmp_path)
    wav2lip = enhancers.choose(EnhanceOptions("auto"), track, np.arange(10), (0, 0, 0, 0), (720, 1280))
    musetalk = enhancers.choose(
        EnhanceOptions("auto"), track, np.arange(10), (0, 0, 0, 0), (720, 1280), engine.face_size
    )
    assert (wav2lip.restorer, musetalk.restorer) == ("gfpgan", None)
    assert engine.face_size == 256
