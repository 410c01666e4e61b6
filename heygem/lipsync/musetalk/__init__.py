"""MuseTalk 1.5 as the ``musetalk`` engine (imports diffusers and transformers: worker only).

- ``networks``: the UNet, the VAE and the whisper encoder, read strictly from their official
  files (MuseTalk's ``models/`` layout), with the published configurations;
- ``whisper``: the audio features, whisper-tiny's encoder states per 20 ms, made per 30 s
  segment as a narration streams;
- ``model``: the per-frame step (crop latents, one UNet pass, decode);
- ``engine``: :class:`~heygem.lipsync.musetalk.engine.MuseTalkEngine`, crop and paste around it.
"""
