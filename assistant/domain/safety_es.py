"""Spanish wordings for the guards of `safety`: red flags (`is_red_flag`) and questions
asking for a diagnosis (`is_diagnosis_question`).

Data: one regular expression per way of saying something that needs help now, grouped
as the English list is (chest, breathing, bleeding, headache, allergy, stroke,
consciousness, too much medicine, self-harm, asking for help), plus a very low sugar
with confusion. The guard checks every language's list whatever the patient's language
(a patient set to English may write Spanish), on a text already lower-cased with its
accents removed (`safety.plain`: "opresión" is read "opresion", "ñ" is "n"): patterns
are written without accents. Like the English ones, they take a negation as no reason
to stay quiet ("no tengo dolor en el pecho" trips the guard: a nurse reads it, a false
alarm costs less than a missed one), and are anchored on words so that "pechuga",
"análisis de sangre" or "me muero de hambre" are not emergencies.

A pattern that spans lines is one parenthesised string: a missing comma between two
would silently join them (tests/unit/test_safety_es.py checks that an example trips
each pattern on its own).
"""

from __future__ import annotations

# "no puedo", "no puede", "nopuedo", "no pueo", "no logro", "ya no puedo"
_CANT = r"\bno\s*(?:puedo|puede|pueo|pude|podia|logro|logra|consigo|consigue)"
_CHEST = r"(?:pecho|pexo|pesho)"
_BREATHE = r"(?:respir|respiar|respri|repir)\w*"  # "no puedo respiar"
_PAIN = (r"(?:dolor\w*|duel\w*|opresion|oprim\w*|presion(?! arterial| alta| baja)|pesadez|"
         r"peso|apriet\w*|aprieta|apretad\w*|aplast\w*|punzada\w*|estruj\w*)")
_WHO = r"(?:me|le|se)"
# Took or swallowed, in the past ("tomo" is also "I take": only "me tome", "se tomo").
_TOOK = r"(?:me tome|tome|se tomo|se tomaron|trague|se trago|(?:he|ha|han) (?:tomado|tragado))"
_SWALLOWED = rf"(?:{_TOOK}|tomo|tomaron|trago|tragaron)"
_ATE = r"(?:se comio|se han comido|se ha comido|se comieron|comio|comieron)"
_PILLS = r"(?:pastillas|pildoras|tabletas|comprimidos|capsulas|medicinas|medicamentos)\b"
_PACK = r"(?:caja|bote|frasco|blister|paquete|envase|tira)"
# "me muero de hambre", "me voy a morir de risa": a way of speaking, not dying.
_NOT_REALLY = (r"(?! (?:de|por) (?:hambre|risa|ganas|sueno|frio|calor|aburrimiento|sed|"
               r"verguenza))")

RED_FLAGS = [
    # corazón: dolor, opresión o peso en el pecho
    (rf"\b{_PAIN}\b[^.?!;]{{0,40}}\b(?:en|de|del|al|sobre|por|el|mi|su) "
     rf"(?:el |mi |su |todo el )?{_CHEST}\b"),
    rf"\b{_CHEST}\b[^.?!;]{{0,40}}?\b{_PAIN}",
    r"\binfarto\b",
    r"\bataque (?:al|de|del) corazon\b",
    r"\bse (?:(?:me|le) )?(?:paro|detuvo|ha parado) el corazon\b",
    # respiración y color
    rf"{_CANT} (?:casi |ni |bien |apenas |casi ni )?{_BREATHE}\b(?! (?:bien )?por la nariz)",
    r"\bapenas (?:puedo |puede )?respir",
    r"\b(?:me|le) cuesta (?:\w+ ){0,2}respir",
    r"\bdificultad(?:es)? (?:para|al|de) respirar",
    r"\brespir\w* con (?:\w+ )?dificultad",
    r"\bfalta (?:\w+ )?(?:de |el |la )?(?:aire|respiracion)\b",
    r"\bno (?:me |le )?entra (?:el |nada de )?aire\b",
    r"\bahog(?:o|a|an|ando|andome|andose|ue|aba)\b",
    r"\batragant\w*",
    r"\bno (?:esta )?respir(?:a|o|ando)\b(?! (?:bien )?por la nariz)",
    r"\bdej\w* de respirar",
    r"\b(?:labios?|cara|dedos?|piel|lengua) (?:\w+ ){0,2}(?:morad|azul|gris|cianotic)\w*",
    r"\b(?:se (?:puso|pone|esta poniendo|ha puesto)|poniendose) (?:morad|azul)\w*",
    # sangrado
    r"\b(?:tos\w*|vomit\w*|escup\w*|devolv\w*|arroj\w*) (?:\w+ ){0,2}sangre\b",
    r"\bsangre en (?:el |mi |su |la )?(?:vomito|esputo|saliva|tos)\b",
    r"\bno (?:(?:me|le|se) )?(?:para|paraba|deja|dejaba|detiene) de sangrar",
    r"\bsangr\w* (?:\w+ )?(?:y )?no (?:para|paraba|se detiene|se corta|deja)\b",
    r"\bsangra\w* (?:mucho|muchisimo|abundante\w*|a chorros|sin parar|demasiado|muy fuerte)",
    r"\bsangrado (?:muy )?(?:abundante|fuerte|grave|intenso|masivo)",
    r"\bhemorragia",
    r"\bdesangr\w*",
    r"\b(?:mucha|muchisima|demasiada) sangre\b",
    r"\bperdiendo (?:mucha )?sangre",
    # dolor de cabeza repentino, el peor de su vida
    r"\bpeor dolor de cabe[sz]a",
    r"\bdolor de cabe[sz]a (?:\w+ ){0,2}(?:repentin|subit|explosiv)\w*",
    r"\bde (?:repente|golpe|pronto)\b[^.?!;]{0,30}\bdolor (?:\w+ )?de cabe[sz]a",
    (r"\bdolor de cabe[sz]a\b[^.?!;]{0,25}"
     r"\b(?:de (?:repente|golpe|pronto)|como (?:un|una) (?:trueno|explosion))"),
    # alergia y vía aérea: garganta, lengua, labios o cara que se hinchan
    r"\bse (?:me |le )?(?:esta )?(?:cierr|cerr)\w* la garganta",
    r"\bgarganta\b[^.?!;]{0,25}\b(?:cierr|cerr|hinch)\w*",  # not "inflamada": a sore throat
    r"\b(?:cierr|cerr|hinch)\w* (?:\w+ )?(?:la |mi )?garganta\b",
    r"\b(?:lengua|labios?|cara|boca)\b[^.?!;]{0,25}\b(?:hinch|inflam)\w*",
    (r"\b(?:hinch|inflam)\w*\b[^.?!;]{0,15}"
     r"\b(?:la |los |el |mi |su )?(?:lengua|labios?|cara|boca)\b"),
    r"\banafila\w*",
    r"\breaccion alergica (?:muy )?(?:grave|fuerte|severa|seria)",
    r"\b(?:grave|fuerte|severa|seria) reaccion alergica",
    # ictus: cara caída, brazo o pierna sin fuerza, habla arrastrada
    r"\bictus\b",
    r"\bderrame\b(?! (?:en el|en un|del) ojo| pleural| de (?:liquido|agua|petroleo))",
    r"\bembolia\b",
    r"\baccidente cerebro ?vascular",
    r"\bboca (?:torcida|de lado|caida|desviada)",
    r"\bcara (?:torcida|caida|de lado|paralizada|dormida)",
    (rf"\bse {_WHO} (?:durmio|duerme|ha dormido|cayo|cae|torcio|tuerce|esta torciendo|paralizo) "
     r"(?:la |media )?(?:cara|boca)"),
    r"\b(?:mitad|un lado|lado izquierdo|lado derecho) (?:de la|del|de mi|de su) (?:cara|cuerpo)\b",
    (r"\b(?:(?:brazo|pierna)s?(?: (?:izquierd[oa]|derech[oa]))?|un lado|lado (?:izquierdo|derecho))"
     r"\b[^.?!;]{0,25}\b(?:dormid[oa]s?|debil(?:es)?|paralizad[oa]s?|sin fuerza|muert[oa]s?)\b"),
    (rf"\bse {_WHO} (?:durmio|paralizo|quedo (?:dormid[oa]|sin fuerza|paralizad[oa])) "
     r"(?:el |la |un |una |medio )?(?:brazo|pierna|lado|cuerpo)"),
    rf"{_CANT} (?:mover|levantar|sentir) (?:el|la|mi|su) (?:brazo|pierna|lado)",
    r"\bno (?:me |le |se )?(?:siento|siente) (?:el|la|mi|su) (?:brazo|pierna|cara|lado)",
    r"\bno (?:puedo|puede|podia) hablar (?:bien|claro)",
    r"\barrastr\w* las palabras",
    r"\bhabla (?:arrastrad\w*|arrastrando|trabad\w*|enredad\w*)",
    (r"\bhabl\w* (?:raro|rara|extrano|extrana|mal|trabad[oa]|enredad[oa])\b[^.?!;]{0,20}"
     r"\bde (?:repente|golpe|pronto)\b"),
    r"\bde (?:repente|golpe|pronto)\b[^.?!;]{0,20}\bhabl\w* (?:raro|rara|extrano|extrana|mal)\b",
    r"\bno (?:le|me) salen las palabras",
    rf"\bse {_WHO} traba la lengua",
    # conciencia y convulsiones
    r"\bdesmay\w*",
    r"\bdesvaneci\w*",
    r"\bperd\w* (?:el )?conocimiento",
    r"\bperd\w* la cons?ciencia",
    r"\binconscien\w*",
    r"\bno (?:responde|reacciona)\b",
    r"\bno (?:se )?despierta\b",
    r"\bno (?:puedo|logro|consigo) despertarl\w*",
    r"\bse desplomo\b",
    (r"\b(?:me|se) (?:cai|cayo|he caido|ha caido)\b[^.?!;]{0,30}"
     r"\bno (?:me |se )?(?:puedo|puede) levantar"),
    r"\b(?:se )?colapso\b",  # not "colapsado de trabajo": swamped
    r"\bconvulsi\w*",
    r"\bataque epileptico",
    rf"\b{_WHO} (?:dio|esta dando|ha dado) un ataque\b(?! de (?:risa|tos|ansiedad|panico|nervios))",
    # demasiada medicina
    r"\bsobredosis",
    (r"\bdemasiad[oa]s? (?:\w+ ){0,2}(?:pastillas?|pildoras?|tabletas?|comprimidos?|capsulas?|"
     r"medicinas?|medicamentos?|insulina|dosis)\b"),
    r"\binsulina\b[^.?!;]{0,40}\bdemasiad",
    rf"\b{_SWALLOWED} (?:toda la|todo el) {_PACK}",
    rf"\b{_SWALLOWED} (?:\w+ ){{0,2}}{_PACK}s? (?:entera|entero|complet[oa])",
    rf"\b{_ATE} (?:\w+ ){{0,3}}{_PILLS}",
    r"\btodas las (?:pastillas|pildoras|tabletas|capsulas|comprimidos) de(?:l| la| el) " + _PACK,
    rf"\b{_TOOK} \d{{2,}} {_PILLS}",
    rf"\b{_TOOK} (?:todas las|muchas|muchisimas|un monton de|un punado de|montones de) {_PILLS}"
    r"(?! (?:de|para|del) (?:hoy|esta|este|la manana|la tarde|la noche|anoche|ayer|mediodia|"
    r"desayuno|la cena|la comida|manana))",
    r"\bse (?:ha |han )?(?:tomado|tomo|tomaron|tragado|trago|tragaron) mis (?:\w+ )?" + _PILLS,
    r"\binsulina de mas\b", r"\bde mas (?:de )?insulina\b",
    r"\b(?:el )?doble (?:de (?:la )?dosis )?de (?:mi |la )?insulina\b",
    # autolesión y suicidio ("suicid" lo recoge también la lista inglesa)
    r"\bsui?[cs]id",
    r"\b(?:quiero|kiero|qiero|quisiera|deseo|queria) morir",
    r"\bganas de morir",
    r"\b(?:quiero|kiero|deseo|ojala|quisiera) (?:estar|estuviera) muert[oa]",
    r"\b(?:mejor (?:estar|estaria)|(?:estaria|estariamos) mejor) muert[oa]",
    r"\bmatarme\b",
    r"\bme (?:voy a|quiero|kiero|pienso) matar\b",
    r"\bquitar(?:me|se)? la vida",
    r"\bacabar con (?:mi vida|todo|mi sufrimiento)",
    r"\b(?:me )?voy a morir\b" + _NOT_REALLY,
    (r"\bno (?:quiero|kiero|qiero) (?:seguir )?"
     r"(?:vivi\w*|estar viv[oa]|despertar(?:me)?|seguir aqui)"),
    (r"\bno (?:tengo|hay|encuentro) (?:ninguna )?(?:razon|razones|motivos?|ganas) (?:de|para) "
     r"(?:vivir|seguir)"),
    r"\bno vale la pena vivir",
    # "me hice daño en la rodilla" is an injury, as "i hurt my knee" is
    r"\b(?:hacerme|me hago|me estoy haciendo|me hice) (?:\w+ )?dano\b(?! (?:en|al|con|jugando) )",
    r"\b(?:lastimarme|autolesi\w*)",
    r"\bme (?:voy a|quiero|kiero|pienso) (?:hacer (?:\w+ )?dano|lastimar)\b",
    (r"\b(?:cortarme|me corto|me estoy cortando|me corte) "
     r"(?:las venas|los brazos|las munecas|otra vez|a proposito)"),
    r"\bme estoy muriendo\b" + _NOT_REALLY,
    r"\bme muero\b(?! por )" + _NOT_REALLY,
    # pedir ayuda urgente
    r"\bemergencia",
    r"\burgencia\b",  # not "urgencias", the department: "¿tengo que ir a urgencias?" asks
    r"\b(?:llev\w*|llam\w*) (?:a |al )?(?:urgencias|emergencias)\b",
    r"\bayuda urgente",
    r"\bambulancia",
    r"\bsocorro\b(?!,? (?:no (?:se|entiendo)|como))",  # "socorro, no sé usar esto"
    r"\bauxilio\b",
    r"\bllam\w* (?:al |a )?(?:911|112|061|999)\b",
    # azúcar muy baja con confusión (hipoglucemia grave)
    (r"\b(?:azucar|glucosa|glucemia)\b[^.?!;]{0,30}(?:\bbaj[ao]\b|\d)[^.?!;]{0,40}"
     r"\b(?:confu(?:s|nd)\w*|desorientad\w*|no (?:reacciona|responde)|no sabe (?:donde|lo que)|"
     r"desmay\w*|no (?:puede|puedo) (?:tragar|pensar))"),
    r"\bhipoglu?cemia (?:muy )?(?:grave|severa|fuerte)",
]


# Asking whether one has a condition ("¿tengo diabetes?", "¿será cáncer?") asks for a
# diagnosis: it goes to the care team (`safety.is_diagnosis_question`). Spanish asks
# without inverting, so "tengo diabetes" is a question only with its "¿" or "?"; plan
# questions that sound alike ("¿tengo la vacuna de la gripe hoy?", "¿tengo pastillas
# para la diabetes esta noche?") name no condition right after the verb and go on.
_CONDITION = (
    r"(?:un |una |el |la |algo de )?(?:pre-?diabet\w*|diabet\w*|cancer\w*|tumor\w*|covid\w*"
    r"|coronavirus|gripe|influenza|infeccion\w*|neumonia|sepsis|hipertension|hipotension"
    r"|(?:la )?(?:presion|tension|azucar|glucosa|colesterol) (?:alt[ao]|baj[ao])"
    r"|(?:enfermedad|insuficiencia|problemas?) (?:del |de |en el |de los )?"
    r"(?:corazon|cardiac\w*|rinon\w*|renal\w*|higado|hepatic\w*|pulmon\w*|tiroides)"
    r"|demencia|alzheimer\w*|parkinson\w*|depresion|ansiedad|asma|epoc|artritis|gota|anemi\w*"
    r"|\w*tiroid\w*|vih|sida|hepatitis|algo (?:grave|malo|serio))\b"
    r"(?! (?:vacuna|inyeccion|pastilla|cita|prueba|analisis|dosis|medicina|medicamento|control))"
)
DIAGNOSIS = [
    r"\bque (?:es lo que )?me (?:pasa|ocurre)\s*\?+\s*$",
    rf"(?:¿|\bque )\s*(?:tengo|tendre|tendria) {_CONDITION}",
    rf"\b(?:tengo|tendre|tendria) {_CONDITION}\s*\?",
    (rf"\b(?:puedo|podria|puede que|sera que|es posible que) (?:tener|tenga|tengo) "
     rf"{_CONDITION}"),
    rf"\b(?:cree|crees|piensa|piensas) (?:usted )?que (?:tengo|tenga|puedo tener) {_CONDITION}",
    rf"\b(?:sera|podria ser|puede ser|seria) (?:esto |eso )?{_CONDITION}",
    rf"¿\s*(?:es|esto es|eso es) {_CONDITION}",
    r"\b(?:soy|estoy) (?:pre-?diabetic|diabetic|anemic|hipertens|deprimid)\w*\s*\?",
]
