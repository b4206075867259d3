import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F

from losslint.lightning import LossLint


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 5), nn.Softmax(dim=1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        # the loss is computed from the network's softmax output
        return F.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.nll_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader(n, batch_size):
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(n, 10, generator=gen), torch.randint(0, 5, (n,), generator=gen))
    return torch.utils.data.DataLoader(data, batch_size=batch_size)


train_loader, val_loader = loader(256, 32), loader(128, 64)
trainer = L.Trainer(max_epochs=2, callbacks=[LossLint()], accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
trainer.fit(Classifier(), train_loader, val_loader)
