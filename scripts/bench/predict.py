"""Cold single-image predict in Python: start, import torch, load weights, preprocess, classify.

Preprocessing follows fmnist's: gray, dark background, contrast stretch, crop to the item, fit
into 28×28 keeping the aspect ratio, centre.
"""
import sys

import torch
import torch.nn.functional as F
from PIL import Image

import common

SIDE = 28


def preprocess(path):
    gray = Image.open(path).convert("L")
    pixels = torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8)
    image = pixels.view(gray.height, gray.width).float() / 255
    border = torch.cat([image[0], image[-1], image[:, 0], image[:, -1]])
    background = border.median().item()
    if background > 0.5:
        image, background = 1 - image, 1 - background
    image = ((image - background) / (image.max() - background)).clamp(0, 1)
    rows, cols = ((image > 0.1).any(dim).nonzero().flatten().tolist() for dim in (1, 0))
    item = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = SIDE / max(item.shape)
    h, w = (min(max(round(n * scale), 1), SIDE) for n in item.shape)
    resized = F.adaptive_avg_pool2d(item[None, None], (h, w)) if h <= item.shape[0] and w <= item.shape[1] \
        else F.interpolate(item[None, None], (h, w), mode="bilinear", align_corners=False)
    canvas = torch.zeros(1, 1, SIDE, SIDE)
    y, x = (SIDE - h) // 2, (SIDE - w) // 2
    canvas[0, 0, y:y + h, x:x + w] = resized[0, 0]
    return canvas


def main():
    weights, path = sys.argv[1], sys.argv[2]
    model = common.make_model()
    model.load_state_dict(torch.load(weights))
    model.eval()
    with torch.inference_mode():
        probabilities = model(preprocess(path)).softmax(1)[0]
    best = int(probabilities.argmax())
    print(f"{path}: {common.CLASS_NAMES[best]} {100 * probabilities[best]:.1f}%")


if __name__ == "__main__":
    main()
