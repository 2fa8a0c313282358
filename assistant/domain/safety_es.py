"""Spanish wordings for the guards of `safety`: red flags (`is_red_flag`) and questions
asking for a diagnosis (`is_diagnosis_question`).

Data: one regular expression per way of saying something that needs help now, grouped
as the English list is (chest, breathing, bleeding, headache, allergy, stroke,
consciousness, too much medicine, self-harm, asking for help), plus a very low sugar
with confusion or a sugar reading of 20 to 54. The English list now reads the same kinds
of thing ("urgent", "somebody help!", a pain in the heart, an overdose told in words, a
severe hypo); only the bare sugar of 20 to 54 is Spanish alone, as the Spanish training
examples label it (in English such a reading is saved, and the chat says what to do now).
"no es urgente" and "nada urgente" are not calls for help.

The guard checks every language's list whatever the patient's language
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
# "de hoy", "de esta noche", or a question about a period ("¿me he tomado todas las
# pastillas esta semana?"): taking the day's pills, asking about adherence. The English
# guard reads "took all the pills" alone as no emergency; this one only lets these go.
_PERIOD = (r"(?:hoy|esta|este|la manana|la tarde|la noche|anoche|ayer|mediodia|desayuno|"
           r"la cena|la comida|manana)")
_NOT_A_PERIOD = (rf"(?! (?:de|para|del) {_PERIOD})"
                 rf"(?! (?:hoy|esta semana|este mes|esta manana|esta noche|ayer)\b[^.!;]*\?)")

RED_FLAGS = [
    # corazón: dolor, opresión o peso en el pecho
    (rf"\b{_PAIN}\b[^.?!;]{{0,40}}\b(?:en|de|del|al|sobre|por|el|mi|su) "
     rf"(?:el |mi |su |todo el )?{_CHEST}\b"),
    rf"\b{_CHEST}\b[^.?!;]{{0,40}}?\b{_PAIN}",
    r"\binfarto\b",
    r"\bataque (?:al|de|del) corazon\b",
    r"\bse (?:(?:me|le) )?(?:paro|detuvo|ha parado) el corazon\b",
    r"\bataque cardiaco\b",  # not "ritmo cardiaco", not "es del corazón?"
    rf"\b(?:{_PAIN}|dolor\w*)\b[^.?!;]{{0,20}}\b(?:el|mi|su|del|al) corazon\b",
    rf"\bcorazon\b[^.?!;]{{0,20}}?\b{_PAIN}",
    r"\b(?:me|le) (?:esta|estan) dando algo (?:en el|del|al) corazon",
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
    r"\brespir\w* (?:(?:muy|super|fatal) mal|fatal)\b(?! por la nariz)",
    r"\bno (?:me |le )?llega (?:el |nada de )?aire\b",
    r"\basfixi\w*",
    rf"{_CANT} (?:coger|agarrar|tomar|meter) (?:el )?aire\b",
    r"\b(?:me|se|le) (?:quedo|queda|estoy quedando|esta quedando) sin (?:aire|respiracion)\b",
    rf"{_CANT} (?:\w+ )?ni respirar\b",
    rf"{_CANT} respirar por la nariz ni (?:por )?la boca",
    r"\b(?:esta|se ha puesto) (?:morad|azul)[oa]\b",
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
    r"\bsangr(?:o|a|e|ando)\w* (?:mucho|muchisimo|sin parar|a chorros|demasiado)",
    r"\bno (?:me |le |se )?(?:para|deja) de (?:salir|echar|caer) sangre",
    r"\bno (?:se )?(?:para|detiene|corta) la sangre",
    r"\bsangre negra\b",  # dark blood in the stool: a bleed inside
    r"\bsangre por (?:la boca|los oidos)",
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
    r"\b(?:me|se) (?:estoy|esta) hinchando\b(?! (?:los|las|el|la|un|una) )",
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
    (rf"\bse {_WHO} (?:ha|han) (?:torcido|caido|dormido|paralizado) "
     r"(?:la |media )?(?:cara|boca)"),
    (rf"\bse {_WHO} (?:duerme|ha dormido|esta durmiendo) "
     r"(?:el |la |medio )?(?:brazo|pierna|lado|cuerpo)"),
    # "no puedo hablar ahora, estoy en el trabajo" is busy; "ni hablar" is no
    (r"\bno (?:puedo|puede|pueo) (?:ni )?hablar\b(?! (?:ahora|ahorita|en este momento|contigo|con|"
     r"por telefono|hoy|luego|mucho))(?!,? (?:estoy|que estoy|luego|despues))"),
    # conciencia y convulsiones
    r"\bdesmay\w*",
    r"\bdesvaneci\w*",
    r"\bperd\w* (?:el )?conocimiento",
    r"\bperd\w* la cons?ciencia",
    r"\binconscien\w*",
    r"\bno (?:responde|reacciona)\b",
    r"\bno (?:se )?despierta\b",
    r"\bno (?:puedo|logro|consigo) despertarl\w*",
    r"\bno (?:puedo|puede|logro|consigo|podemos) despertar (?:a|al)\b",
    r"\bperd\w* el sentido\b(?! del? )",  # not "el sentido del gusto"
    (r"\b(?:ha tenido|tuvo|esta teniendo) un ataque\b"
     r"(?! de (?:risa|tos|ansiedad|panico|nervios|celos|hambre))"),
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
    (rf"\b{_TOOK} (?:todas las|muchas|muchisimas|un monton de|un punado de|montones de) {_PILLS}"
     + _NOT_A_PERIOD),
    r"\bse (?:ha |han )?(?:tomado|tomo|tomaron|tragado|trago|tragaron) mis (?:\w+ )?" + _PILLS,
    r"\binsulina de mas\b", r"\bde mas (?:de )?insulina\b",
    r"\b(?:el )?doble (?:de (?:la )?dosis )?de (?:mi |la )?insulina\b",
    r"\b(?:el )?triple (?:de (?:la )?dosis )?de (?:mi |la )?insulina\b",
    rf"\b{_SWALLOWED} (?:un|una|medio|media) {_PACK} (?:entero |entera )?de {_PILLS}",
    rf"\b{_TOOK} el (?:doble|triple) de {_PILLS}",
    (rf"\b{_TOOK} (?:diez|once|doce|quince|veinte|treinta|cuarenta|cincuenta|cien) "
     rf"{_PILLS}"),  # as "\d{{2,}}" above
    rf"\b{_TOOK} (?:todas )?(?:\w+ ){{0,2}}{_PILLS} (?:de golpe|de una vez|juntas|a la vez)",
    rf"\bse (?:ha )?(?:tomado|tomo|tragado|trago) todas sus {_PILLS}" + _NOT_A_PERIOD,
    rf"\bse (?:ha |han )?(?:tragado|trago|tragaron) (?:unas|algunas|varias|muchas) {_PILLS}",
    (r"\b(?:voy a|quiero|pienso) (?:tomarme|tragarme) (?:todas (?:las|mis) "
     rf"{_PILLS}|(?:el|un|la|una) {_PACK}\b)" + _NOT_A_PERIOD),
    rf"\b{_SWALLOWED} (?:el jarabe (?:entero|completo)|todo el jarabe)",
    rf"\b{_PILLS} de mas\b",
    r"\bdemasiad[oa]s? (?:\w+ ){0,2}(?:medicacion|medicaciones|jarabe)\b",
    (r"\b(?:me|se) (?:pase|paso|he pasado|ha pasado) con (?:la |las |el |los |mi |mis |su |sus )?"
     r"(?:insulina|pastillas|dosis|medicacion|medicinas|medicamentos|pildoras|comprimidos)"),
    (r"\b(?:me|se) (?:puse|puso|inyecte|inyecto|he puesto|ha puesto|he inyectado) "
     r"(?:(?:mucha|muchisima|tanta) insulina|(?:la )?insulina (?:dos|tres) veces)"),
    # autolesión y suicidio ("suicid" lo recoge también la lista inglesa)
    r"\bsui?[cs]id",
    r"\b(?:quiero|kiero|qiero|quisiera|deseo|queria) morir",
    r"\bganas de morir",
    r"\b(?:quiero|kiero|deseo|ojala|quisiera) (?:estar|estuviera) muert[oa]",
    r"\b(?:mejor (?:estar|estaria)|(?:estaria|estariamos) mejor) muert[oa]",
    r"\bmatarme\b",
    r"\bdejar de vivir\b",
    r"\bojala (?:me muriera|me muera|morirme|no despertar\w*)\b",
    r"\bprefiero (?:estar )?muert[oa]",
    r"\b(?:pienso|pensando) (?:mucho )?en morir",
    (r"\b(?:me (?:voy a|quiero|kiero|pienso) (?:tirar|lanzar|arrojar)|tirarme|lanzarme) "
     r"(?:por|de|desde|a|bajo) (?:la|el|un|una|las) (?:ventana|puente|balcon|tren|metro|vias|"
     r"edificio|azotea|precipicio|acantilado|coche)"),
    (r"\bme (?:voy a|quiero) cortar(?:me)?(?:\s*[.,!;]|$| otra vez| las venas| los brazos|"
     r" las munecas| a proposito)"),
    r"\bme (?:he )?cortado (?:a proposito|las venas|los brazos|las munecas)",
    r"\bme (?:he hecho|hice|hago|estoy haciendo) cortes\b",
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
    # "ayuda", "ayúdame", "necesito ayuda" ask how to use the app (as "help" does in English)
    r"(?<!no es )(?<!nada )(?<!no )\burgente\b",  # "no es urgente", "nada urgente": not
    r"\bayuda+,? (?:urgente|rapido|ya\b|ayuda)",
    r"\bnecesito ayuda (?:ya|urgente|rapido|ahora mismo)\b",
    r"\bayud(?:e|a)nme\b",  # calling to people around: "¡ayúdenme!"
    r"\b(?:que )?alguien (?:me|nos|le) ayude\b",
    r"\b(?:manden|mande|envien|mandad|traigan) (?:una )?ayuda\b",
    r"\bes (?:muy )?grave,? ayuda",
    r"\bir a urgencias (?:ya|ahora mismo|inmediatamente|corriendo)\b",
    # azúcar muy baja con confusión (hipoglucemia grave)
    # (una baja: 3,9 mmol/l o 69 mg/dl como mucho; "azúcar 6,1, confundido con la dieta" no)
    (r"\b(?:azucar|glucosa|glucemia)\b[^.?!;]{0,30}"
     r"(?:\bbaj[ao]\b|(?<![\d.,])(?:[0-3](?:[.,]\d)?|[2-6]\d)(?![.,]?\d))[^.?!;]{0,40}"
     r"\b(?:confu(?:s|nd)\w*|desorientad\w*|no (?:reacciona|responde)|no sabe (?:donde|lo que)|"
     r"desmay\w*|no (?:puede|puedo) (?:tragar|pensar))"),
    r"\bhipoglu?cemia (?:muy )?(?:grave|severa|fuerte)",
    # 20 to 54: a severe low in mg/dl, a severe high in mmol/l ("azúcar 7,2" is neither)
    r"\b(?:azucar|glucosa|glucemia|glicemia)\b[^.?!;\d]{0,20}\b(?:[2-4]\d|5[0-4])\b(?![.,]\d)",
    r"\bbajada de (?:azucar|glucosa) (?:muy )?(?:fuerte|grave|severa)",
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
