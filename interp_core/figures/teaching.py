"""Teaching notes: for every HOW_TO_READ key, a short note for a class and the paper or tool the
chart comes from (plain reference text: authors, year, title; nothing that needs the internet).

Shown under each chart when the app's teaching mode is on. Data only; no Streamlit.
"""

from __future__ import annotations

# Plain references, cited by key below. Authors, year, title, venue where there is one.
SOURCES: dict[str, str] = {
    "li2017": 'Li, Liu, Chen & Rudin (2017). "Deep Learning for Case-Based Reasoning through Prototypes: A Neural Network that Explains Its Predictions." AAAI 2018.',
    "protopnet": 'Chen, Li, Tao, Barnett, Su & Rudin (2019). "This Looks Like That: Deep Learning for Interpretable Image Recognition." NeurIPS.',
    "because": 'Nauta, Jutte, Provoost & Seifert (2021). "This Looks Like That, Because ... Explaining Prototypes for Interpretable Image Recognition."',
    "probpsenn": 'Vadillo, Santana, Lozano & Kwiatkowska (2024). "Uncertainty-Aware Explanations Through Probabilistic Self-Explainable Neural Networks" (Prob-PSENN).',
    "umap": 'McInnes, Healy & Melville (2018). "UMAP: Uniform Manifold Approximation and Projection for Dimension Reduction."',
    "dlbook": 'Goodfellow, Bengio & Courville (2016). "Deep Learning", section 7.8 (early stopping). MIT Press.',
    "calibration": 'Guo, Pleiss, Sun & Weinberger (2017). "On Calibration of Modern Neural Networks." ICML.',
    "saelens": 'Bloom, Tigges, Duong & Chanin (2024). "SAELens" (library for training and analysing sparse autoencoders).',
    "monosemanticity": 'Bricken et al. (2023). "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning." Anthropic.',
    "cunningham": 'Cunningham, Ewart, Riggs, Huben & Sharkey (2023). "Sparse Autoencoders Find Highly Interpretable Features in Language Models."',
    "saevis": 'McDougall (2024). "sae_vis" feature dashboards; Decode Research (2024). "SAE-Dashboard" and Neuronpedia.',
    "toymodels": 'Elhage et al. (2022). "Toy Models of Superposition." Anthropic.',
    "sharkey": 'Sharkey, Braun & Millidge (2022). "Taking features out of superposition with sparse autoencoders" (interim research report; MMCS).',
    "gao": 'Gao et al. (2024). "Scaling and evaluating sparse autoencoders." OpenAI.',
    "matryoshka": 'Bussmann, Nabeshima, Karvonen & Nanda (2025). "Learning Multi-Level Features with Matryoshka Sparse Autoencoders." ICML.',
    "absorption": 'Chanin, Wilken-Smith, Dulka, Bhatnagar, Golechha & Bloom (2024). "A is for Absorption: Studying Feature Splitting and Absorption in Sparse Autoencoders."',
    "jumprelu": 'Rajamanoharan, Lieberum, Sonnerat, Conmy, Varma, Kramar & Nanda (2024). "Jumping Ahead: Improving Reconstruction Fidelity with JumpReLU Sparse Autoencoders."',
    "mpsae": 'Costa, Fel, Lubana, Tolooshams & Ba (2025). "From Flat to Hierarchical: Extracting Sparse Representations with Matching Pursuit" (MP-SAE).',
    "transcoders": 'Dunefsky, Chlenski & Nanda (2024). "Transcoders Find Interpretable LLM Feature Circuits." NeurIPS.',
    "tcav": 'Kim, Wattenberg, Gilmer, Cai, Wexler, Viegas & Sayres (2018). "Interpretability Beyond Feature Attribution: Quantitative Testing with Concept Activation Vectors (TCAV)." ICML.',
    "cace": 'Goyal, Feder, Shalit & Kim (2019). "Explaining Classifiers with Causal Concept Effect (CaCE)."',
    "captum": 'Kokhlikyan et al. (2020). "Captum: A unified and generic model interpretability library for PyTorch."',
    "cbm": 'Koh, Nguyen, Tang, Mussmann, Pierson, Kim & Liang (2020). "Concept Bottleneck Models." ICML.',
    "timex": 'Queen, Hartvigsen, Koker, He, Tsiligkaridis & Zitnik (2023). "Encoding Time-Series Explanations through Self-Supervised Model Behavior Consistency" (TimeX). NeurIPS.',
    "tsinterpret": 'Hoellig, Kulbach & Thoma (2023). "TSInterpret: A Python Package for the Interpretability of Time Series Classification." JOSS.',
    "ig": 'Sundararajan, Taly & Yan (2017). "Axiomatic Attribution for Deep Networks." ICML.',
    "rise": 'Petsiuk, Das & Saenko (2018). "RISE: Randomized Input Sampling for Explanation of Black-box Models" (deletion and insertion curves). BMVC.',
    "tsr": 'Ismail, Gunady, Corrada Bravo & Feizi (2020). "Benchmarking Deep Learning Interpretability in Time Series Predictions." NeurIPS.',
    "karim": 'Karim, Shajalal, Grass, Doehmen, Chala, Beecks & Decker (2022). "Interpreting Black-box Machine Learning Models for High Dimensional Datasets."',
    "imodels": 'Singh, Nasseri, Tan, Tang & Yu (2021). "imodels: a python package for fitting interpretable models." JOSS.',
    "explainerdashboard": 'Dijk (2020). "explainerdashboard" (Python package for model dashboards).',
    "breiman": 'Breiman (2001). "Random Forests" (permutation importance). Machine Learning 45.',
    "cart": 'Breiman, Friedman, Olshen & Stone (1984). "Classification and Regression Trees."',
    "wachter": 'Wachter, Mittelstadt & Russell (2017). "Counterfactual Explanations without Opening the Black Box." Harvard Journal of Law & Technology.',
    "wu": 'Wu, Jaburi, Drori & Gross (2024). "Unifying and Verifying Mechanistic Interpretations: A Case Study with Group Operations."',
    "grokking": 'Power, Burda, Edwards, Babuschkin & Misra (2022). "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets."',
    "nanda": 'Nanda, Chan, Lieberum, Smith & Steinhardt (2023). "Progress measures for grokking via mechanistic interpretability." ICLR.',
    "chughtai": 'Chughtai, Chan & Nanda (2023). "A Toy Model of Universality: Reverse Engineering How Networks Learn Group Operations." ICML.',
    "doshi": 'Doshi, Das, He & Gromov (2024). "To Grok or not to Grok: Disentangling Generalization and Memorization on Corrupted Algorithmic Datasets."',
    "gpt2": 'Radford, Wu, Child, Luan, Amodei & Sutskever (2019). "Language Models are Unsupervised Multitask Learners" (GPT-2). OpenAI.',
    "compactproofs": 'Gross et al. (2024). "Compact Proofs of Model Performance via Mechanistic Interpretability."',
}

# One entry per HOW_TO_READ key: {"note": a short teaching note, "source": reference text}.
TEACHING: dict[str, dict[str, str]] = {}


def teach(name: str, note: str, *sources: str) -> None:
    TEACHING[name] = {"note": note, "source": "; ".join(SOURCES[s] for s in sources)}


# -- models (Home and shared) ------------------------------------------------------------------
teach("training_curve", "Training loss always falls; what matters is the validation line. When it stops improving while the loss keeps falling, the model starts to memorise, so the weights from the best validation epoch are kept (early stopping).", "dlbook")
teach("embedding_map", "A map squeezes many dimensions into two, so distances are only roughly kept: trust which groups sit together, not exact distances. Wrong predictions often sit between groups or inside another class's group.", "umap")
teach("example_input", "Always look at the raw input before any explanation: many surprises (a mislabelled example, an odd measurement) are visible here already.", "captum")
teach("example_input_scaled", "Putting every measurement in standard deviations from its training mean makes bars of different units comparable: a bar beyond about 2 SD is unusual for the data the model learned from, and an explanation that leans on it deserves a second look.", "captum")
teach("next_tokens", "A language model is trained only to predict the next token; its loss is the average surprise (-log probability) of the true next token and its perplexity exp(loss) is roughly how many tokens it hesitates between. The top-5 shows that hesitation for one text.", "gpt2")
teach("class_probabilities", "A probability is the model's confidence, not a guarantee: modern networks are often over-confident, so a 0.95 can still be wrong.", "calibration")

# -- prototypes ----------------------------------------------------------------------------------
teach("prototype_gallery", "A prototype network classifies by comparing an input to a few learned cases. Decoding a prototype shows the case it stores; a blurry or mixed tile means the prototype is not a clean example of its class.", "li2017")
teach("prototype_gallery_pushed", "\"Pushing\" replaces every prototype by the nearest real training example of its class, so every explanation points at something that really exists; the price is usually a small loss of accuracy.", "protopnet")
teach("prototype_profiles", "For tables a prototype is a row of measurements; reading it in standard deviations from the mean shows which measurements make this case typical of its class.", "li2017")
teach("prototype_weights", "The last layer is the whole decision rule: class score = sum of similarity x weight. A model is easy to audit when each prototype has one large weight to its own class.", "li2017", "protopnet")
teach("latent_map", "The prototypes live in the same space as the encoded examples. Prototypes far from every example decode to unrealistic inputs; prototypes in the middle of their class are the most representative.", "li2017")
teach("looks_like_that", "\"This looks like that\": the decision is explained by pointing at similar known cases. Check that the similar prototypes really look alike to you; if not, the similarity the model uses is not the one people use.", "protopnet", "because")
teach("prototype_contributions", "Because the last layer is linear, the explanation is exact: the contributions add up to the logit. This is a faithful explanation by construction, unlike saliency maps of ordinary networks.", "li2017", "protopnet")
teach("similarity_spread", "A probabilistic prototype model samples whole sets of prototypes. If the most similar prototype changes from sample to sample, the explanation itself is uncertain, even when the prediction is not.", "probpsenn")
teach("predictive_distribution", "Averaging the prediction over sampled prototype sets gives a spread as well as a mean: wide error bars flag an uninformed prediction that should not be trusted alone.", "probpsenn")
teach("nearest_training_examples", "A prototype is only as meaningful as its neighbourhood: if its nearest training examples belong to several classes, the case it stands for is ambiguous (low purity).", "li2017", "because")
teach("uncertainty_by_correctness", "Useful uncertainty is higher on wrong predictions than on right ones. The AUROC measures that separation: 0.5 means uncertainty tells you nothing about errors, 1.0 means it flags every one.", "probpsenn")

# -- SAE -------------------------------------------------------------------------------------------
teach("sae_feature_map", "A sparse autoencoder rewrites a layer's activations as a sum of a few directions (features) out of many. Features writing similar directions cluster on this map; isolated dense clusters can be duplicated features.", "monosemanticity", "saelens")
teach("sae_density_histogram", "Feature density is a quick health check: dead features (never firing) waste capacity and features firing on almost everything are rarely interpretable. Most features of a good SAE fire rarely.", "saelens", "monosemanticity")
teach("sae_activation_histogram", "Look at examples across all activation intervals, not only the top ones: a feature that looks clean at its strongest activations can mean something vaguer at weak ones.", "saevis")
teach("sae_output_effects", "Pushing a feature's decoder direction through the rest of the model tells you what the feature does, not only what it responds to; both sides are needed to label a feature.", "saevis", "monosemanticity")
teach("sae_digit_gallery", "Top-activating examples are the usual first way to label a feature. They show what a feature responds to most strongly, which can hide what it does at weaker activations.", "saevis")
teach("sae_toy_examples", "In a toy model the true features are known, so we can check whether an SAE feature matches exactly one of them: the strongest test of an SAE, impossible on real models.", "toymodels", "sharkey")
teach("sae_contributions", "One example is explained by the few features that fire on it. Because activations are sparse, a handful of features usually reconstruct most of the activation vector.", "cunningham", "saelens")
teach("sae_sweep", "Every SAE trades sparsity (low L0, easy to read) against reconstruction (high explained variance, faithful). Comparing SAEs is only fair along this frontier, at equal L0.", "gao", "mpsae")
teach("sae_splice", "Explained variance can look good while the model's behaviour breaks. Splicing the reconstruction back into the model and measuring accuracy or loss tests whether the features keep what the model uses.", "saelens", "cunningham")
teach("sae_splice_cosine", "A model without a next word (an encoder) is judged by what it outputs, its sentence embedding: splicing the SAE's reconstruction into the block and comparing the embedding by cosine with the clean one, against zeroing the block, tests whether the features keep what the embedding uses.", "saelens", "cunningham")
teach("sae_per_text_loss", "An average can hide a few texts the SAE breaks. One dot per held-out text, its loss clean against with the reconstruction spliced in, shows whether the SAE costs a little everywhere or a lot on some texts (then read those texts' tokens in the Example view).", "saelens", "gao")
teach("sae_per_text_cosine", "The same splice text by text: each held-out text's embedding cosine with the SAE spliced in against with the block zeroed, so the texts whose meaning the SAE loses stand out from an average that looks fine.", "saelens", "gao")
teach("sae_recovery", "Mean max cosine similarity (MMCS) asks, for each true feature, whether some SAE feature points the same way: 1.0 means every true feature was recovered.", "sharkey", "toymodels")
teach("sae_training_curve", "L0 usually falls as the sparsity pressure takes hold while explained variance climbs back; a curve still moving at the end means the SAE was stopped early.", "saelens")
teach("sae_steer", "Correlation is not causation: a feature can fire on a class without the model using it. Editing the feature and rerunning the model (keeping the SAE's error term, so the edit is the only change) measures what it does; a feature whose ablation moves nothing is a passenger, however clean its label.", "monosemanticity", "cunningham")
teach("sae_arch_comparison", "Sparsity pushes an SAE to absorb a parent feature into its children: when 'animal' always comes with 'dog' or 'cat', one latent for 'dog+animal' is cheaper than two, and the 'animal' latent falls silent exactly where it should fire. Architectures differ in how much they absorb, and recovering a flat toy's features says little about a hierarchical one.", "absorption", "matryoshka", "mpsae")
teach("sae_circuit", "An SAE's features sit in one layer; a transcoder's replace a whole block, so the connection between a feature of one block and a feature of the next is a product of their weights, true for every input. That makes a circuit you can read off the weights; the ablation checks that the edge is also used on real data (TopK and the ReLU can hide an edge the weights promise).", "transcoders")
teach("sae_class_share", "A feature concentrated on one class is easy to label; one spread over many classes encodes something shared (a stroke, a shape) or is polysemantic.", "monosemanticity")

# -- concepts --------------------------------------------------------------------------------------
teach("tcav_bars", "TCAV asks a human question (\"is the class sensitive to stripes?\") with a directional derivative along a concept direction. A score is only meaningful if it differs from random concepts: always read the significance test with it.", "tcav", "captum")
teach("cace_vs_tcav", "TCAV measures sensitivity along a direction, not cause: a concept that only travels with the class can score high. Switching the concept on in otherwise identical pictures measures its causal effect; where the two disagree, trust the effect.", "cace", "tcav")
teach("tcav_box", "The t-test compares the concept's scores against random-vs-random scores. Even unrelated concepts can score near 0 or 1 by chance, which is why TCAV repeats the run against many random sets.", "tcav")
teach("tcav_heatmap", "Reading every concept against every class at once shows which concepts the model uses for which class; cells that fail the test should be ignored, whatever their colour.", "tcav")
teach("whatif_probabilities", "A concept bottleneck model predicts from the concepts only, so setting a concept by hand changes the prediction in a way anyone can follow: a direct, causal explanation.", "cbm")
teach("intervention_curve", "Test-time intervention: a teacher corrects the model's concept mistakes and the prediction should improve. A flat line means the final layer does not really rely on the concepts.", "cbm")
teach("concept_accuracy", "A bottleneck is only as good as its concepts: a concept predicted no better than always guessing the commonest label carries no information to the class.", "cbm")
teach("head_weights", "The head of a concept bottleneck is a small linear model, so its weights read as rules: which concepts count for or against each class.", "cbm")
teach("concept_image", "The input the model sees; compare it with the concept labels before trusting any concept explanation.", "cbm")
teach("concept_gallery", "A concept is defined by examples. If the chosen examples differ in more than the concept (colour, size, background), TCAV measures that difference too.", "tcav")
teach("concept_map", "Examples that sit together on this map look alike to the model at that layer; colouring it by a concept shows whether the model's representation keeps that concept together, which is what a CAV needs.", "tcav", "umap")
teach("concept_map_select", "Selecting a group of examples on the map is one way to define a concept from the model's own representation, then test it with TCAV.", "tcav", "umap")
teach("concept_sensitivity", "This is TCAV for one example: the directional derivative of the class score along each concept direction. TCAV's score is the share of a class's examples where it is positive.", "tcav")
teach("concept_values", "Comparing predicted and true concepts shows where the bottleneck is wrong, which is exactly where a teacher's intervention would help.", "cbm")

# -- time series -----------------------------------------------------------------------------------
teach("series_attribution", "Attribution methods answer \"which time steps mattered?\" in different ways (gradients, perturbations); they often disagree, so compare several and check them against the ground truth where it is known.", "captum", "tsinterpret", "ig")
teach("auprc_bars", "With synthetic data we know which steps decide the class, so an attribution can be scored like a detector (AUPRC). Always compare with the random baseline.", "timex")
teach("faithfulness_curves", "Deletion and insertion test faithfulness without ground truth: if the steps a method ranks first really matter, removing them should hurt the prediction quickly.", "rise", "tsr")
teach("token_attribution", "Token attributions show which words the model used for this text, not whether it is right: a classifier that keys on one word ('great') for every positive text has learned a shortcut. Integrated Gradients and gradient x input usually agree on the strongest tokens; where they disagree, trust the one with the better deletion and insertion areas.", "ig", "captum")
teach("token_faithfulness", "Masking the tokens a method ranks first tests whether the model really uses them: a faithful attribution makes the probability fall faster than the random order (lower deletion area) and rise faster when the tokens come back (higher insertion area). A masked text is unlike any training text, so compare methods with each other, not with 0 or 1.", "rise", "ig")
teach("class_profile", "Averaging attributions per class shows where a method looks in general; a method that looks at the same place for every class is probably not explaining the classes.", "tsinterpret", "tsr")
teach("explanation_map", "Grouping series by their explanations (not their values) finds groups of decisions made for the same reason, and outliers explained unusually.", "timex", "umap")

# -- rules -----------------------------------------------------------------------------------------
teach("rules_importance", "Permutation-style importance: shuffle or perturb a feature and see how much the black box changes. The surrogate may only use the top k, which keeps the rules short.", "karim", "breiman")
teach("rules_tree", "A surrogate decision tree is trained to copy the black box, not the truth. Each leaf is a readable rule; fidelity says how often the copy agrees with the original.", "karim", "cart", "explainerdashboard")
teach("rules_tradeoff", "Deeper trees and more features copy the black box better but are harder to read: choose the smallest setting whose fidelity is good enough.", "karim", "imodels")
teach("rules_examples", "Crosses are where the rules and the black box disagree; they often sit near a threshold, where the black box's boundary is curved and the rules' is straight.", "karim")
teach("rules_counterfactual_images", "A counterfactual is the smallest change that flips the decision: it explains by showing what would have to be different.", "wachter")
teach("rules_importance_image", "On images each pixel is a feature; importance on the pixel grid shows whether the black box looks where a person would.", "karim", "breiman")

# -- mechanisms ------------------------------------------------------------------------------------
teach("group_training", "Grokking: on small algorithmic tasks a network can fit the training pairs long before it generalises, then switch to a simple algorithm; weight decay drives the switch.", "grokking", "nanda")
teach("embedding_spectrum", "Networks trained on group operations use a few irreducible representations (for Z_n: a few Fourier frequencies). Few bright columns mean a compact algorithm.", "chughtai", "nanda")
teach("neuron_irrep_map", "Each neuron tends to specialise in one irrep; grouping neurons by irrep is how the algorithm is read off the weights.", "chughtai")
teach("neuron_activation", "A regular stripe or checkerboard pattern is the signature of a neuron computing a function of one frequency of x and y, exactly what the Fourier explanation predicts.", "nanda", "chughtai")
teach("pair_contributions", "Splitting the logits exactly by irrep turns the explanation into an accounting identity: the bars must add up to the margin, so nothing is left unexplained.", "chughtai", "wu")
teach("pair_logits", "If the network restricted to its key irreps gives nearly the same logits, those irreps carry the whole computation for this pair.", "chughtai")
teach("equivariance", "The explanation relies on symmetry: relabelling the inputs by a group element should relabel the answer the same way. Measuring this checks the assumption instead of taking it on trust.", "wu")
teach("verification", "An explanation can be checked: if it is right, the network restricted to it keeps its accuracy, removing it destroys the accuracy, and a proof built on it gives a guaranteed bound.", "wu", "compactproofs")
teach("bound_frontier", "Compact proofs trade cost for strength: a good explanation gives a strong accuracy guarantee much more cheaply than checking every input.", "compactproofs", "wu")
teach("population_bounds", "One network proves little about a method: Wu et al.'s claim is about a population (a bound of at least 95% for 45% of their models). A point far below the diagonal is a network whose explanation misses part of what it computes, often one that memorised instead of generalising.", "wu")
teach("population_costs", "A proof is only useful if it is cheaper than checking every input; Wu et al.'s proofs ran in 30% of brute force's time because they compress the hidden layer. Without that compression the proof costs about as much as brute force, which this chart shows honestly.", "wu", "compactproofs")
teach("two_phase", "With some labels corrupted, regularised networks are reported to fit everything first, then grok the clean rule and 'unlearn' the wrong labels, so training accuracy falls to the clean share. Whether it happens depends on the setting: the claims table says where it did here.", "doshi", "grokking")
teach("neuron_concentration", "With corrupted labels, some neurons memorise the wrong pairs while others implement the general algorithm; their weights look different, so they can be found.", "doshi")
teach("pruning", "Pruning the memorising neurons removes the memorised corrupted labels and keeps generalisation: a causal test that those neurons hold the memory.", "doshi")
